// CPU and throughput overhead of fastify-anonymous-telemetry against bare Fastify, an empty hook pair and fastify-metrics.
//   npm run bench                                   (build, then every variant, 7 rounds)
//   node benchmarks/overhead.mjs --rounds 9 --requests 300000
//   node benchmarks/overhead.mjs --rounds 1 --variants telemetry-on --cpu-prof   (profile into benchmarks/results/)
// The main figure is the server's own CPU time per request: on a small machine the load generator saturates first,
// so req/s hides most of the cost. See benchmarks/README.md.
import { readFileSync, writeFileSync, mkdirSync } from 'node:fs'
import { availableParallelism, cpus, loadavg } from 'node:os'
import { fileURLToPath } from 'node:url'
import { parseArgs } from 'node:util'
import autocannon from 'autocannon'
import { TASKSET, ask, pinSelf, startChild, stopChild } from './child.mjs'

const VARIANTS = {
  bare: 'Fastify 5, no plugin, no hook',
  'empty-hooks': 'bare + an empty sync onRequest and onResponse hook: the floor of any hook-based design',
  'telemetry-on': 'fastify-anonymous-telemetry on, reporting every second to a collector in another process',
  'telemetry-off': 'fastify-anonymous-telemetry registered with enabled: false',
  'fastify-metrics': 'fastify-metrics@12 with its defaults (Prometheus histogram + summary per route)'
}

const { values: args } = parseArgs({
  options: {
    rounds: { type: 'string', default: '7' },
    requests: { type: 'string', default: '200000' },
    warmup: { type: 'string', default: '50000' },
    variants: { type: 'string', default: Object.keys(VARIANTS).join(',') },
    'cpu-prof': { type: 'boolean', default: false }
  }
})
const ROUNDS = Number(args.rounds)
const REQUESTS = Number(args.requests)
const WARMUP = Number(args.warmup)
const variants = args.variants.split(',')
for (const variant of variants) if (!(variant in VARIANTS)) throw new Error(`unknown variant ${variant}`)

const here = (file) => fileURLToPath(new URL(file, import.meta.url))
const RESULTS = here('results/')
const SERVER_CPU = 0
const LOAD_CPU = 1
const LOAD = { connections: 100, pipelining: 10 }
// Both routes in turn on every connection: a static one and a parametric one.
const ROUTES = [{ method: 'GET', path: '/hello' }, { method: 'GET', path: '/users/42' }]

async function load (url, amount) {
  // autocannon notices that it is done only on its sampling tick: at the default of 1 s, a 6 s load reads as 7 s.
  const result = await autocannon({ url, ...LOAD, amount, requests: ROUTES, sampleInt: 50 })
  if (result.errors > 0 || result.timeouts > 0 || result.non2xx > 0) {
    throw new Error(`load against ${url} failed: ${result.errors} errors, ${result.timeouts} timeouts, ${result.non2xx} non-2xx`)
  }
  return result
}

async function telemetryEvents (collector) {
  const { events } = await ask(collector, 'stats')
  return events.filter(event => event.event === 'telemetry').length
}

async function measure (variant, round, collector, collectorUrl) {
  const execArgv = args['cpu-prof'] ? ['--cpu-prof', '--cpu-prof-dir', RESULTS, '--cpu-prof-name', `${variant}-${round}.cpuprofile`] : []
  const { child, ready } = await startChild(here('server.mjs'), [variant, collectorUrl], { cpu: SERVER_CPU, execArgv })
  const url = `http://127.0.0.1:${ready.port}`
  await load(url, WARMUP)
  const reportsBefore = await telemetryEvents(collector)
  await ask(child, 'start')
  const loadStart = performance.now()
  const result = await load(url, REQUESTS)
  const loadSeconds = (performance.now() - loadStart) / 1000
  const { user, system, telemetryRequests } = await ask(child, 'stop')
  const reportsDuring = (await telemetryEvents(collector)) - reportsBefore
  await stopChild(child)
  // autocannon stops once it has read `amount - connections * (pipelining - 1)` responses and drops its sockets with
  // the rest in flight; the server handles nearly all of them (the window closes after its last connection did),
  // so `sent` is the denominator, off by a few dozen requests at most. Telemetry's own count confirms it.
  const requests = result.requests.sent
  const inFlight = LOAD.connections * LOAD.pipelining
  if (telemetryRequests !== null && (telemetryRequests > WARMUP + requests || telemetryRequests < WARMUP + requests - 2 * inFlight)) {
    throw new Error(`telemetry counted ${telemetryRequests} requests, the load generator sent ${WARMUP + requests}`)
  }
  return {
    requests,
    cpuMicrosPerRequest: (user + system) / requests,
    userMicrosPerRequest: user / requests,
    // autocannon's own `duration` is rounded to whole seconds.
    reqPerSec: result.requests.total / loadSeconds,
    p99Ms: result.latency.p99,
    ...(telemetryRequests === null ? {} : { telemetryUncounted: WARMUP + requests - telemetryRequests, reportsDuring })
  }
}

function stats (values) {
  const sorted = [...values].sort((a, b) => a - b)
  const middle = Math.floor(sorted.length / 2)
  const median = sorted.length % 2 === 1 ? sorted[middle] : (sorted[middle - 1] + sorted[middle]) / 2
  return { median, min: sorted[0], max: sorted[sorted.length - 1] }
}

function machine () {
  const fastifyVersion = JSON.parse(readFileSync(here('../node_modules/fastify/package.json'), 'utf8')).version
  return { nproc: availableParallelism(), cpu: cpus()[0]?.model ?? 'unknown', node: process.version, fastify: fastifyVersion, taskset: TASKSET }
}

function table (summary) {
  const fixed = (value, digits) => value.toFixed(digits)
  const lines = [
    '| variant | CPU µs/request (median) | ratio to bare: median (min–max) | req/s (median) | p99 ms (median) |',
    '|---|---:|---:|---:|---:|'
  ]
  for (const [variant, s] of Object.entries(summary)) {
    const ratio = s.ratioToBare === null
      ? '–'
      : `${fixed(s.ratioToBare.median, 3)} (${fixed(s.ratioToBare.min, 3)}–${fixed(s.ratioToBare.max, 3)})`
    lines.push(`| ${variant} | ${fixed(s.cpuMicrosPerRequest.median, 2)} | ${ratio} | ${Math.round(s.reqPerSec.median)} | ${s.p99Ms.median} |`)
  }
  return lines.join('\n')
}

// Before pinning: afterwards this process sees one CPU.
const host = machine()
pinSelf(LOAD_CPU)
// Anything else running on this machine lands on the same two CPUs: the load average goes into the results.
const loadBefore = loadavg()
if (loadBefore[0] > 1) console.error(`warning: load average ${loadBefore[0].toFixed(2)} before the run; other processes will add noise`)
const { child: collector, ready: { url: collectorUrl } } = await startChild(here('collector-process.mjs'), [], { cpu: LOAD_CPU })
const runs = Object.fromEntries(variants.map(variant => [variant, []]))
const started = Date.now()
for (let round = 1; round <= ROUNDS; round++) {
  for (const variant of variants) {
    const run = await measure(variant, round, collector, collectorUrl)
    runs[variant].push(run)
    console.error(`round ${round}/${ROUNDS} ${variant.padEnd(15)} ${run.cpuMicrosPerRequest.toFixed(2)} µs/request ` +
      `(user ${run.userMicrosPerRequest.toFixed(2)}) ` +
      `${Math.round(run.reqPerSec)} req/s p99 ${run.p99Ms} ms`)
  }
}
await stopChild(collector)

const summary = {}
for (const variant of variants) {
  const own = runs[variant]
  summary[variant] = {
    description: VARIANTS[variant],
    cpuMicrosPerRequest: stats(own.map(run => run.cpuMicrosPerRequest)),
    // Each round's ratio uses that round's bare run, so that drift of the machine over the whole run cancels out.
    ratioToBare: runs.bare === undefined ? null : stats(own.map((run, i) => run.cpuMicrosPerRequest / runs.bare[i].cpuMicrosPerRequest)),
    reqPerSec: stats(own.map(run => run.reqPerSec)),
    p99Ms: stats(own.map(run => run.p99Ms))
  }
}

const output = {
  date: new Date().toISOString(),
  seconds: Math.round((Date.now() - started) / 1000),
  machine: host,
  loadAverage: { before: loadBefore, after: loadavg() },
  settings: { rounds: ROUNDS, requests: REQUESTS, warmup: WARMUP, ...LOAD, routes: ROUTES, serverCpu: SERVER_CPU, loadCpu: LOAD_CPU },
  summary,
  runs
}
if (!args['cpu-prof']) {
  mkdirSync(RESULTS, { recursive: true })
  writeFileSync(here('results/overhead.json'), JSON.stringify(output, null, 2) + '\n')
}
console.log(table(summary))
