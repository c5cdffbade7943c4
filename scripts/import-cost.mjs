// What importing the plugin costs a host: time and heap that `require('fastify-anonymous-telemetry')` adds to a
// process that already loaded Fastify, median of 20 fresh processes, against the same process without the import.
// Also checks what an instance with telemetry on has loaded after register + ready (nothing of the sending side).
//
//   npm run build && node scripts/import-cost.mjs
import { execFileSync } from 'node:child_process'
import { fileURLToPath } from 'node:url'

const ROUNDS = 20
const plugin = fileURLToPath(new URL('../dist/index.js', import.meta.url))

/** One fresh process: loads Fastify, then (or not) the plugin; prints the import's time and the heap it kept. */
const probe = `
const { performance } = require('node:perf_hooks')
require('fastify')
globalThis.gc(); globalThis.gc()
const heapBefore = process.memoryUsage().heapUsed
const started = performance.now()
if (process.argv[1] === 'plugin') require(${JSON.stringify(plugin)})
const ms = performance.now() - started
globalThis.gc(); globalThis.gc()
process.stdout.write(JSON.stringify({ ms, heap: process.memoryUsage().heapUsed - heapBefore, process: performance.now() }))
`

function run (variant) {
  return JSON.parse(execFileSync(process.execPath, ['--expose-gc', '-e', probe, variant], { encoding: 'utf8' }))
}

const median = values => {
  const sorted = [...values].sort((a, b) => a - b)
  const middle = sorted.length >> 1
  return sorted.length % 2 === 1 ? sorted[middle] : (sorted[middle - 1] + sorted[middle]) / 2
}

const samples = { bare: [], plugin: [] }
// Alternated, so that a burst of load on the machine hits both variants alike.
for (let round = 0; round < ROUNDS; round++) {
  for (const variant of round % 2 === 0 ? ['bare', 'plugin'] : ['plugin', 'bare']) samples[variant].push(run(variant))
}

const importMs = median(samples.plugin.map(s => s.ms)) - median(samples.bare.map(s => s.ms))
const heapKb = (median(samples.plugin.map(s => s.heap)) - median(samples.bare.map(s => s.heap))) / 1024
const processMs = median(samples.plugin.map(s => s.process)) - median(samples.bare.map(s => s.process))

const afterReady = execFileSync(process.execPath, ['-e', `
const app = require('fastify')()
app.register(require(${JSON.stringify(plugin)}), {
  writeKey: 'k', issuerUrl: 'https://import-cost.example.com/', endpoints: ['/'], host: 'http://127.0.0.1:9'
})
app.ready().then(() => {
  const loaded = Object.keys(require.cache).filter(file => /node_modules[\\\\/](@segment|undici|jose|tslib)[\\\\/]/.test(file))
  process.stdout.write(String(loaded.length))
  return app.close()
})
`], { encoding: 'utf8' })

console.log(`import-cost: ${ROUNDS} fresh processes per variant, medians, against a process that only loads fastify`)
console.log(`  require() of the plugin: ${importMs.toFixed(1)} ms (${median(samples.plugin.map(s => s.ms)).toFixed(1)} ms measured around the require)`)
console.log(`  heap kept after gc():    ${heapKb.toFixed(0)} KB`)
console.log(`  whole process, to exit:  ${processMs >= 0 ? '+' : ''}${processMs.toFixed(1)} ms`)
console.log(`  after register + ready with telemetry on: ${afterReady} files of @segment/*, undici, jose or tslib in require.cache`)
