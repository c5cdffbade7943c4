// `npm run bench:collector`: autocannon against `serve` (a child process, durable mode: every 200 is fsync'd),
// with the two bodies a fleet sends: a real report of the real plugin (about 5 KB) and a keep-alive (about 300 B
// as a batch of one). Every request carries a new messageId, so every batch is stored. Prints batches/s, p99
// latency, fsyncs/s and the collector's RSS sampled during the run (flat memory = the same RSS at the end as
// after warm-up). BENCH_SECONDS (default 20) sets the length of each run.
import { spawn } from 'node:child_process'
import { once } from 'node:events'
import { mkdtempSync, readFileSync, rmSync } from 'node:fs'
import { createRequire } from 'node:module'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import autocannon from 'autocannon'
import Fastify from 'fastify'

const require = createRequire(import.meta.url)
const here = new URL('.', import.meta.url).pathname
const { telemetryCollector, readEvents } = require('../dist/index.js')
const SECONDS = Number(process.env.BENCH_SECONDS ?? 20)
const CONNECTIONS = Number(process.env.BENCH_CONNECTIONS ?? 50)
// Which bodies to run, in order (BENCH_BODIES=keep-alive with a long BENCH_SECONDS is the memory-flatness run).
const BODIES = (process.env.BENCH_BODIES ?? 'report,keep-alive').split(',')
const KEY = 'bench-key'
const AUTH = `Basic ${Buffer.from(`${KEY}:`).toString('base64')}`

/** A real report: the real plugin (root dist/) reporting traffic on 12 endpoints to an in-process collector. */
async function realEvents () {
  const { default: telemetry } = require('../../dist/index.js')
  const dataDir = mkdtempSync(join(tmpdir(), 'bench-capture-'))
  const collector = Fastify()
  await collector.register(telemetryCollector, { dataDir, writeKeys: [KEY] })
  const host = await collector.listen({ port: 0, host: '127.0.0.1' })
  const endpoints = Array.from({ length: 12 }, (_, i) => `/api/resource-${i}`)
  const app = Fastify()
  await app.register(telemetry, { writeKey: KEY, issuerUrl: 'https://bench.example.com/', host, endpoints, identifyAfter: 10, reportInterval: 60_000, keepAliveInterval: 20 })
  for (const url of endpoints) app.get(url, async () => 'ok')
  await app.ready()
  for (let i = 0; i < 2000; i++) await app.inject({ url: endpoints[i % endpoints.length], method: 'GET' })
  while (collector.telemetryCollector.counts.accepted < 3) await new Promise(resolve => setTimeout(resolve, 20))
  await app.close()
  await collector.close()
  const events = []
  for await (const event of readEvents(dataDir)) events.push(event)
  rmSync(dataDir, { recursive: true })
  const strip = ({ receivedAt, sentAt, ...event }) => event
  return {
    report: strip(events.filter(e => e.event === 'telemetry').at(-1)),
    keepAlive: strip(events.find(e => e.event === 'keep-alive'))
  }
}

function rssOf (pid) {
  return Number(/VmRSS:\s+(\d+)/.exec(readFileSync(`/proc/${pid}/status`, 'utf8'))[1]) * 1024
}

async function run (name, event, dataDir) {
  const child = spawn(process.execPath, [join(here, '..', 'dist', 'cli.js'), 'serve', '--data', dataDir, '--port', '0', '--write-key', KEY], { stdio: ['ignore', 'pipe', 'inherit'] })
  let output = ''
  child.stdout.setEncoding('utf8')
  const url = await new Promise(resolve => child.stdout.on('data', chunk => {
    output += chunk
    const match = /listening on (\S+)/.exec(output)
    if (match) resolve(match[1])
  }))
  let n = 0
  const template = JSON.stringify({ batch: [{ ...event, messageId: 'ID' }], sentAt: new Date().toISOString() })
  const [head, tail] = template.split('"ID"')
  const body = () => `${head}"node-next-${Date.now()}-00000000-0000-4000-8000-${(n++).toString(16).padStart(12, '0')}"${tail}`
  const health = async () => (await fetch(`${url}/health`)).json()
  const samples = []
  // RSS and the count of stored batches every second: the series shows whether memory levels off.
  const series = []
  let sent = 0
  const sampler = setInterval(() => {
    samples.push(rssOf(child.pid))
    if (samples.length % 10 === 0) series.push({ second: samples.length, batches: sent, rssMiB: +(samples.at(-1) / 2 ** 20).toFixed(1) })
  }, 1000)
  const before = await health()
  const result = await autocannon({
    url: `${url}/v1/batch`,
    connections: CONNECTIONS,
    duration: SECONDS,
    method: 'POST',
    headers: { authorization: AUTH, 'content-type': 'application/json' },
    requests: [{ setupRequest: request => ({ ...request, body: body() }) }]
  }).on('response', () => { sent++ })
  clearInterval(sampler)
  const after = await health()
  child.kill('SIGTERM')
  await once(child, 'exit')
  const mib = bytes => (bytes / 2 ** 20).toFixed(1)
  const warm = samples[Math.min(2, samples.length - 1)]
  return {
    body: name,
    bodyBytes: Buffer.byteLength(body()),
    batchesPerSecond: Math.round(result.requests.average),
    p99Ms: result.latency.p99,
    p50Ms: result.latency.p50,
    non2xx: result.non2xx,
    errors: result.errors,
    stored: after.accepted - before.accepted,
    fsyncsPerSecond: Math.round((after.storage.fsyncs - before.storage.fsyncs) / SECONDS),
    batchesPerFsync: +((after.batches - before.batches) / Math.max(1, after.storage.fsyncs - before.storage.fsyncs)).toFixed(1),
    rssMiB: { afterWarmup: mib(warm), end: mib(samples.at(-1)), max: mib(Math.max(...samples)) },
    series
  }
}

const { report, keepAlive } = await realEvents()
const results = []
for (const [name, event] of [['report', report], ['keep-alive', keepAlive]].filter(([name]) => BODIES.includes(name))) {
  const dataDir = mkdtempSync(join(tmpdir(), 'bench-collector-'))
  results.push(await run(name, event, dataDir))
  rmSync(dataDir, { recursive: true })
}
console.log(`collector benchmark: ${SECONDS} s per body, ${CONNECTIONS} connections, durable (fsync before every 200), node ${process.version}`)
console.table(results.map(({ series, ...r }) => ({ ...r, rssMiB: `${r.rssMiB.afterWarmup} → ${r.rssMiB.end} (max ${r.rssMiB.max})` })))
for (const { body, series } of results) {
  console.log(`${body}: RSS every 10 s: ${series.map(point => `${point.batches} batches ${point.rssMiB} MiB`).join(', ')}`)
}
