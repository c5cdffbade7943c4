// What loading the plugin costs a process before any request: import time and the heap added by importing and by
// registering (after gc()), each variant in fresh processes against a process that loads Fastify only (`bare`).
//   npm run bench:import                          (build, then this: 21 fresh processes per variant)
//   node benchmarks/import-cost.mjs --smoke       (5 processes per variant: proves the harness, measures little)
//   node benchmarks/import-cost.mjs --processes 41 --kinds bare,telemetry-imported
// Results: a Markdown table on stdout, everything in benchmarks/results/import.json. See benchmarks/README.md.
import { mkdirSync, writeFileSync } from 'node:fs'
import { fileURLToPath } from 'node:url'
import { parseArgs } from 'node:util'
import { pinSelf, startChild, stopChild } from './child.mjs'
import { importTable } from './markdown.mjs'
import { machine, provenance, startRun } from './machine.mjs'
import { medianDifference, medianWithInterval } from './statistics.mjs'

// What each row runs in its fresh processes: a variant of variants.mjs, loaded with import() or require().
const KINDS = {
  bare: ['bare'],
  'telemetry-imported': ['telemetry-imported'],
  'telemetry-required': ['telemetry-imported', 'require'],
  'telemetry-off': ['telemetry-off'],
  'telemetry-on': ['telemetry-on'],
  'fastify-metrics': ['fastify-metrics']
}
// What the plugin may load only at its first send (issue 8: never at import, register or ready).
const SENDING_SIDE = ['@segment/analytics-node', '@segment/analytics-core', 'undici', 'jose', 'tslib']
const GOALS = { importMs: 15, heapImportBytes: 0.5 * 1024 * 1024 }

const { values: args } = parseArgs({
  options: {
    smoke: { type: 'boolean', default: false },
    processes: { type: 'string' },
    kinds: { type: 'string', default: Object.keys(KINDS).join(',') }
  }
})
const PROCESSES = Number(args.processes ?? (args.smoke ? 5 : 21))
const kinds = args.kinds.split(',')
for (const kind of kinds) if (!(kind in KINDS)) throw new Error(`unknown kind ${kind}`)
if (!kinds.includes('bare')) throw new Error('the kinds must include bare: every figure is relative to it')

const here = (file) => fileURLToPath(new URL(file, import.meta.url))
const WORKER_CPU = 0

async function measure (kind) {
  const { child, ready } = await startChild(here('import-worker.mjs'), KINDS[kind], { cpu: WORKER_CPU, execArgv: ['--expose-gc'] })
  await stopChild(child)
  return ready
}

const host = machine()
pinSelf(1)
const runStart = startRun()
const runs = Object.fromEntries(kinds.map(kind => [kind, []]))
for (let round = 0; round < PROCESSES; round++) {
  // Interleaved, and rotated so that no kind always follows the same one.
  for (let i = 0; i < kinds.length; i++) {
    const kind = kinds[(i + round) % kinds.length]
    const run = await measure(kind)
    runs[kind].push(run)
    console.error(`process ${round + 1}/${PROCESSES} ${kind.padEnd(18)} import ${run.importMs.toFixed(1)} ms, ` +
      `heap +${(run.heapImport / 1024).toFixed(0)} KB import, +${(run.heapRegister / 1024).toFixed(0)} KB register`)
  }
}

const bare = runs.bare
const bareReady = new Set(bare[0].readyPackages)
const summary = {}
for (const kind of kinds) {
  const own = runs[kind]
  const importMs = medianWithInterval(own.map(run => run.importMs))
  const heapImport = medianDifference(own.map(run => run.heapImport), bare.map(run => run.heapImport))
  const heapRegister = medianDifference(own.map(run => run.heapRegister), bare.map(run => run.heapRegister))
  const importedPackages = own[0].importedPackages
  // Fastify itself loads its schema compilers at ready: only what comes on top of a bare app's ready is the variant's.
  const readyPackages = own[0].readyPackages.filter(name => !bareReady.has(name))
  const sendingSideLoaded = [...importedPackages, ...readyPackages].filter(name => SENDING_SIDE.includes(name))
  summary[kind] = {
    importMs,
    importCpuMs: medianWithInterval(own.map(run => run.importCpuMs)),
    heapImport,
    heapRegister,
    importedFiles: own[0].importedFiles,
    importedPackages,
    readyPackages,
    ...(kind.startsWith('telemetry-')
      ? {
          goals: {
            importMs: { goal: `≤ ${GOALS.importMs} ms`, met: importMs.median <= GOALS.importMs },
            heapImport: { goal: `≤ ${GOALS.heapImportBytes / 1024 / 1024} MB`, met: heapImport.median <= GOALS.heapImportBytes },
            sendingSideNotLoaded: { goal: `none of ${SENDING_SIDE.join(', ')} loaded`, met: sendingSideLoaded.length === 0, loaded: sendingSideLoaded }
          }
        }
      : {})
  }
}

const output = {
  ...provenance(host, runStart),
  settings: { processes: PROCESSES, workerCpu: WORKER_CPU },
  fastifyImportMs: medianWithInterval(bare.map(run => run.fastifyMs)),
  summary,
  runs
}
mkdirSync(here('results/'), { recursive: true })
writeFileSync(here('results/import.json'), JSON.stringify(output, null, 2) + '\n')
console.log(importTable(output))
