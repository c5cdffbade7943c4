// What the results depend on besides the code: call it before pinning, which makes this process see one CPU.
import { readFileSync } from 'node:fs'
import { availableParallelism, cpus, loadavg } from 'node:os'
import { relative } from 'node:path'
import { TASKSET } from './child.mjs'

const version = name => JSON.parse(readFileSync(new URL(`../node_modules/${name}/package.json`, import.meta.url), 'utf8')).version

export function machine () {
  return {
    nproc: availableParallelism(),
    cpu: cpus()[0]?.model ?? 'unknown',
    node: process.version,
    fastify: version('fastify'),
    autocannon: version('autocannon'),
    taskset: TASKSET
  }
}

/**
 * The start of a run. Anything else running on this machine lands on the same two CPUs, so the load average goes
 * into the results, with a warning when it is already high.
 */
export function startRun () {
  const loadBefore = loadavg()
  if (loadBefore[0] > 1) console.error(`warning: load average ${loadBefore[0].toFixed(2)} before the run; other processes will add noise`)
  return { started: Date.now(), loadBefore }
}

/** What every results file opens with: when, how long, the command, the machine, the load average before and after. */
export function provenance (host, { started, loadBefore }) {
  return {
    date: new Date().toISOString(),
    seconds: Math.round((Date.now() - started) / 1000),
    command: ['node', relative(process.cwd(), process.argv[1]), ...process.argv.slice(2)].join(' '),
    machine: host,
    loadAverage: { before: loadBefore, after: loadavg() }
  }
}
