// What one report costs for a large app: 200 allow-listed endpoints, each with traffic on five methods and six
// status codes. Times snapshot() and report building (goal: median < 5 ms), then lets the real reporter deliver
// a report to a collector in another process and checks every event of it against Segment's 32 KB limit.
//   node benchmarks/report-cost.mjs              (part of npm run bench:memory)
import { mkdirSync, writeFileSync } from 'node:fs'
import { loadavg } from 'node:os'
import { setTimeout as sleep } from 'node:timers/promises'
import { fileURLToPath } from 'node:url'
import Fastify from 'fastify'
import fastifyTelemetry, { MAX_EVENT_BYTES } from 'fastify-anonymous-telemetry'
import { splitReport } from '../dist/report.js'
import { ask, startChild, stopChild } from './child.mjs'
import { telemetryOptions } from './variants.mjs'

const here = (file) => fileURLToPath(new URL(file, import.meta.url))
const ENDPOINTS = Array.from({ length: 200 }, (_, n) => `/api/v1/resource-${String(n).padStart(3, '0')}`)
const METHODS = ['GET', 'POST', 'PUT', 'DELETE', 'PATCH']
const STATUS = [200, 201, 204, 400, 404, 500]
const REQUESTS_EACH = 3
const RUNS = 300

function median (values) {
  const sorted = [...values].sort((a, b) => a - b)
  return sorted[Math.floor(sorted.length / 2)]
}

/** Wall time and CPU time (this process, GC threads included) of `RUNS` calls; CPU time is what other processes on a
 * busy machine disturb least. */
function timeMs (fn) {
  const wall = []
  const cpu = []
  for (let i = 0; i < RUNS; i++) {
    const start = performance.now()
    const usage = process.cpuUsage()
    fn()
    const { user, system } = process.cpuUsage(usage)
    wall.push(performance.now() - start)
    cpu.push((user + system) / 1000)
  }
  const summary = times => ({ median: median(times), min: Math.min(...times), max: Math.max(...times) })
  return { runs: RUNS, wall: summary(wall), cpu: summary(cpu) }
}

/** Polls the collector until every part of a report that counted `requests` has arrived; the report interval is 1 s. */
async function deliveredReport (collector, requests) {
  for (let attempt = 0; attempt < 100; attempt++) {
    const { events } = await ask(collector, 'stats')
    const head = events.find(event => event.event === 'telemetry' && event.part === 1 && event.requests === requests)
    const parts = head === undefined ? [] : events.filter(event => event.reportId === head.reportId)
    if (head !== undefined && parts.length === head.parts) return parts.sort((a, b) => a.part - b.part)
    await sleep(200)
  }
  throw new Error(`no complete report of ${requests} requests arrived`)
}

const { child: collector, ready: { url: collectorUrl } } = await startChild(here('collector-process.mjs'))
const app = Fastify()
await app.register(fastifyTelemetry, telemetryOptions(collectorUrl, ENDPOINTS))
for (const endpoint of ENDPOINTS) {
  app.route({
    method: METHODS,
    url: `${endpoint}/:id`,
    handler: async (request, reply) => reply.code(Number(request.query.status)).send('x'.repeat(Number(request.query.size)))
  })
}
await app.ready()

let sent = 0
for (const endpoint of ENDPOINTS) {
  const batch = []
  for (const method of METHODS) {
    for (const status of STATUS) {
      for (let i = 0; i < REQUESTS_EACH; i++) {
        // Bodies from 10 B to 10 KB, so that the size histograms have more than one bucket in use.
        batch.push(app.inject({ method, url: `${endpoint}/${i}?status=${status}&size=${10 ** (1 + ((sent + i) % 4))}` }))
      }
    }
  }
  sent += batch.length
  await Promise.all(batch)
}

const snapshot = app.telemetry.snapshot()
const snapshotMs = timeMs(() => app.telemetry.snapshot())
// What the reporter does per report: a snapshot, split into events; the SDK then serializes each one.
const reportMs = timeMs(() => {
  for (const part of splitReport(app.telemetry.snapshot())) JSON.stringify(part)
})

const parts = await deliveredReport(collector, sent)
await app.close()
await stopChild(collector)

const delivered = parts.flatMap(part => part.paths)
const output = {
  date: new Date().toISOString(),
  node: process.version,
  loadAverage: loadavg(),
  app: { endpoints: ENDPOINTS.length, methods: METHODS, status: STATUS, requests: sent },
  snapshotMs,
  reportMs,
  unsplitSnapshotBytes: Buffer.byteLength(JSON.stringify(snapshot)),
  maxEventBytes: MAX_EVENT_BYTES,
  events: parts.map(({ part, parts, bytes, paths }) => ({ part, parts, bytes, paths: paths.length })),
  split: {
    everyEventUnderLimit: parts.every(part => part.bytes < MAX_EVENT_BYTES),
    everyPathOnce: delivered.length === new Set(delivered).size && delivered.length === Object.keys(snapshot.paths).length
  }
}
mkdirSync(here('results/'), { recursive: true })
writeFileSync(here('results/report-cost.json'), JSON.stringify(output, null, 2) + '\n')

const ms = ({ median, min, max }) => `${median.toFixed(3)} ms (min ${min.toFixed(3)}, max ${max.toFixed(3)})`
console.log(`${ENDPOINTS.length} endpoints × ${METHODS.length} methods × ${STATUS.length} status codes, ${sent} requests; ${RUNS} runs each`)
console.log(`snapshot():              wall median ${ms(snapshotMs.wall)}; CPU median ${ms(snapshotMs.cpu)}`)
console.log(`snapshot + split + JSON: wall median ${ms(reportMs.wall)}; CPU median ${ms(reportMs.cpu)}`)
console.log(`unsplit snapshot: ${output.unsplitSnapshotBytes} bytes; delivered as ${parts.length} events of ` +
  `${parts.map(part => part.bytes).join(', ')} bytes (limit ${MAX_EVENT_BYTES})`)
console.log(`every event under the limit: ${output.split.everyEventUnderLimit}; every path in exactly one event: ${output.split.everyPathOnce}`)
if (!output.split.everyEventUnderLimit || !output.split.everyPathOnce) process.exitCode = 1
