// What the results depend on besides the code: call it before pinning, which makes this process see one CPU.
import { readFileSync } from 'node:fs'
import { availableParallelism, cpus } from 'node:os'
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
