// Heap growth under hostile cardinality: 1 000 000 requests, 1 000 000 distinct URLs, bare Fastify against the same
// app with fastify-anonymous-telemetry on (reporting every second to a collector in another process). Goal: growth < 1 MB.
//   npm run bench:memory                          (build, this, then report-cost.mjs)
//   node benchmarks/memory.mjs --requests 200000
import { mkdirSync, writeFileSync } from 'node:fs'
import { fileURLToPath } from 'node:url'
import { parseArgs } from 'node:util'
import { startChild, stopChild } from './child.mjs'

const here = (file) => fileURLToPath(new URL(file, import.meta.url))
const { values: args } = parseArgs({ options: { requests: { type: 'string', default: '1000000' } } })
const MB = 1024 * 1024

const { child: collector, ready: { url: collectorUrl } } = await startChild(here('collector-process.mjs'))
// V8 drops the bytecode of functions idle for a while (startup code, first-request paths), which shrinks the heap
// by a few hundred KB during the run and could hide a real growth of the same size.
const WORKER_FLAGS = ['--expose-gc', '--no-flush-bytecode']
const results = {}
for (const variant of ['bare', 'telemetry-on']) {
  const { child, ready } = await startChild(here('memory-worker.mjs'), [variant, args.requests, collectorUrl], { execArgv: WORKER_FLAGS })
  await stopChild(child)
  results[variant] = ready
  console.error(`${variant}: ${(ready.growth / MB).toFixed(3)} MB growth over ${ready.requests} requests in ${ready.seconds.toFixed(1)} s`)
}
await stopChild(collector)

const on = results['telemetry-on']
if (on.counted !== on.warmup + on.requests) throw new Error(`telemetry counted ${on.counted} requests`)
const output = {
  date: new Date().toISOString(),
  node: process.version,
  workerFlags: WORKER_FLAGS,
  results,
  telemetryGrowthMinusBare: on.growth - results.bare.growth
}
mkdirSync(here('results/'), { recursive: true })
writeFileSync(here('results/memory.json'), JSON.stringify(output, null, 2) + '\n')

const mb = bytes => (bytes / MB).toFixed(3)
console.log([
  '| app | requests (distinct URLs) | heap after warm-up MB | after 1st tenth MB | after all MB | growth MB | growth after 1st tenth MB |',
  '|---|---:|---:|---:|---:|---:|---:|',
  ...Object.values(results).map(r => `| ${r.variant} | ${r.requests} | ${mb(r.heapBefore)} | ${mb(r.checkpoints[0])} | ` +
    `${mb(r.heapAfter)} | ${mb(r.growth)} | ${mb(r.growthAfterFirstTenth)} |`)
].join('\n'))
for (const r of Object.values(results)) console.log(`${r.variant} checkpoints MB: ${r.checkpoints.map(mb).join(' ')}`)
console.log(`telemetry-on growth minus bare growth: ${mb(output.telemetryGrowthMinusBare)} MB; ` +
  `reported paths: ${on.paths.join(', ')}; distinct status codes: ${on.statusCodes}`)
