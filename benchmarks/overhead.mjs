// CPU and throughput overhead of fastify-anonymous-telemetry against bare Fastify, an empty hook pair and
// fastify-metrics, then a CPU profile of telemetry on for the plugin's own self time per request.
//   npm run bench                                  (build, import-cost.mjs, then this: 6 variants × 21 rounds)
//   node benchmarks/overhead.mjs --smoke           (3 rounds of 20 000 requests: proves the harness, measures nothing)
//   node benchmarks/overhead.mjs --rounds 31 --requests 200000 --variants bare,empty-hooks,telemetry-on
//   node benchmarks/overhead.mjs --rounds 0 --profile telemetry-on,empty-hooks   (profiles only)
// The main figure is the server's own CPU time per request: on a small machine the load generator saturates first,
// so req/s hides most of the cost. Results: Markdown tables on stdout, everything in benchmarks/results/overhead.json.
// See benchmarks/README.md.
import { mkdirSync, writeFileSync } from 'node:fs'
import { fileURLToPath } from 'node:url'
import { parseArgs } from 'node:util'
import autocannon from 'autocannon'
import { ask, pinSelf, startChild, stopChild } from './child.mjs'
import { machine, provenance, startRun } from './machine.mjs'
import { areaTable, overheadTable, profileTable } from './markdown.mjs'
import { selfTime } from './profile.mjs'
import { RESAMPLES, SEED, medianWithInterval } from './statistics.mjs'
import { VARIANTS } from './variants.mjs'

const { values: args } = parseArgs({
  options: {
    smoke: { type: 'boolean', default: false },
    rounds: { type: 'string' },
    requests: { type: 'string' },
    warmup: { type: 'string' },
    variants: { type: 'string', default: Object.keys(VARIANTS).join(',') },
    // Variants to run once more under --cpu-prof after the rounds; `none` for no profile.
    profile: { type: 'string', default: 'telemetry-on' },
    // Where the results go, relative to benchmarks/ (default results/overhead.json, or results/profile.json for profiles alone).
    out: { type: 'string' }
  }
})
const DEFAULTS = args.smoke ? { rounds: 3, requests: 20_000, warmup: 5_000 } : { rounds: 21, requests: 100_000, warmup: 30_000 }
const ROUNDS = Number(args.rounds ?? DEFAULTS.rounds)
const REQUESTS = Number(args.requests ?? DEFAULTS.requests)
const WARMUP = Number(args.warmup ?? DEFAULTS.warmup)
const variants = args.variants.split(',')
const profiled = args.profile === 'none' ? [] : args.profile.split(',')
for (const variant of [...variants, ...profiled]) if (!(variant in VARIANTS)) throw new Error(`unknown variant ${variant}`)

const here = (file) => fileURLToPath(new URL(file, import.meta.url))
const RESULTS = here('results/')
const DIST = here('../dist/')
const SERVER_CPU = 0
const LOAD_CPU = 1
const LOAD = { connections: 100, pipelining: 10 }
// Both routes in turn on every connection: a static one and a parametric one.
const ROUTES = [{ method: 'GET', path: '/hello' }, { method: 'GET', path: '/users/42' }]
// The goals of issue 8: imported-only and off indistinguishable from bare, on within 3 % of the empty hook pair.
const NEUTRAL_BOUND = 1.03
const HOOK_MARGIN = 1.03

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

async function measure (variant, collector, collectorUrl, execArgv = []) {
  const { child, ready } = await startChild(here('server.mjs'), [variant, collectorUrl], { cpu: SERVER_CPU, execArgv })
  const url = `http://127.0.0.1:${ready.port}`
  await load(url, WARMUP)
  const reportsBefore = await telemetryEvents(collector)
  await ask(child, 'start')
  const loadStart = performance.now()
  const result = await load(url, REQUESTS)
  const loadSeconds = (performance.now() - loadStart) / 1000
  const { user, system, window, telemetryRequests } = await ask(child, 'stop')
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
    window,
    ...(telemetryRequests === null ? {} : { telemetryUncounted: WARMUP + requests - telemetryRequests, reportsDuring })
  }
}

/** One more run of `variant` under --cpu-prof; the plugin's own self time (files in dist/) per measured request. */
async function profile (variant, collector, collectorUrl) {
  const name = `${variant}.cpuprofile`
  const run = await measure(variant, collector, collectorUrl, ['--cpu-prof', '--cpu-prof-dir', RESULTS, '--cpu-prof-name', name])
  // Only the measurement window: start-up, registration and warm-up are not per-request costs.
  const requests = run.requests
  const self = selfTime(RESULTS + name, DIST, run.window)
  return {
    variant,
    file: `benchmarks/results/${name}`,
    requests,
    cpuMicrosPerRequest: run.cpuMicrosPerRequest,
    profileMs: self.totalMs,
    garbageCollectorMs: self.garbageCollectorMs,
    pluginSelfMs: self.insideMs,
    pluginMicrosPerRequest: self.insideMs * 1000 / requests,
    functions: self.functions.map(entry => ({ ...entry, microsPerRequest: entry.selfMs * 1000 / requests })),
    areaMicrosPerRequest: Object.fromEntries(Object.entries(self.areas).map(([area, ms]) => [area, ms * 1000 / requests]))
  }
}

function summarize (runs) {
  const ratios = (variant, reference) => runs[variant].map((run, i) => run.cpuMicrosPerRequest / runs[reference][i].cpuMicrosPerRequest)
  const summary = {}
  for (const variant of variants) {
    const own = runs[variant]
    summary[variant] = {
      description: VARIANTS[variant].description,
      cpuMicrosPerRequest: medianWithInterval(own.map(run => run.cpuMicrosPerRequest)),
      // Each round's ratio uses that round's bare run, so that drift of the machine over the whole run cancels out.
      ratioToBare: runs.bare === undefined ? null : medianWithInterval(ratios(variant, 'bare')),
      reqPerSec: medianWithInterval(own.map(run => run.reqPerSec)),
      p99Ms: medianWithInterval(own.map(run => run.p99Ms))
    }
  }
  const goals = {}
  if (runs.bare !== undefined) {
    for (const variant of ['telemetry-imported', 'telemetry-off'].filter(name => name in runs)) {
      const { low, high } = summary[variant].ratioToBare
      goals[variant] = { goal: `95 % interval of the ratio to bare contains 1.00, or its upper bound ≤ ${NEUTRAL_BOUND}`, met: (low <= 1 && high >= 1) || high <= NEUTRAL_BOUND }
    }
    if ('telemetry-on' in runs && 'empty-hooks' in runs) {
      const bound = HOOK_MARGIN * summary['empty-hooks'].ratioToBare.median
      goals['telemetry-on'] = {
        goal: `median ratio to bare ≤ ${HOOK_MARGIN} × empty-hooks' median (${bound.toFixed(3)})`,
        met: summary['telemetry-on'].ratioToBare.median <= bound,
        // The same comparison paired by round, for a reading of its noise.
        ratioToEmptyHooks: medianWithInterval(ratios('telemetry-on', 'empty-hooks')),
        // Against the floor that also pays Fastify's per-request 'close' listener for onRequestAbort.
        ...('empty-hooks-abort' in runs ? { ratioToEmptyHooksAbort: medianWithInterval(ratios('telemetry-on', 'empty-hooks-abort')) } : {})
      }
    }
  }
  return { summary, goals }
}

// Before pinning: afterwards this process sees one CPU.
const host = machine()
pinSelf(LOAD_CPU)
const runStart = startRun()
const { child: collector, ready: { url: collectorUrl } } = await startChild(here('collector-process.mjs'), [], { cpu: LOAD_CPU })
const runs = Object.fromEntries(variants.map(variant => [variant, []]))
for (let round = 0; round < ROUNDS; round++) {
  // Interleaved, and rotated so that each variant runs early and late in a round equally often.
  for (let i = 0; i < variants.length; i++) {
    const variant = variants[(i + round) % variants.length]
    const run = await measure(variant, collector, collectorUrl)
    runs[variant].push(run)
    console.error(`round ${round + 1}/${ROUNDS} ${variant.padEnd(18)} ${run.cpuMicrosPerRequest.toFixed(2)} µs/request ` +
      `(user ${run.userMicrosPerRequest.toFixed(2)}) ${Math.round(run.reqPerSec)} req/s p99 ${run.p99Ms} ms`)
  }
}
const profiles = []
for (const variant of profiled) {
  profiles.push(await profile(variant, collector, collectorUrl))
  console.error(`profile ${variant}: plugin self time ${profiles.at(-1).pluginMicrosPerRequest.toFixed(3)} µs/request`)
}
await stopChild(collector)

const output = {
  ...provenance(host, runStart),
  settings: {
    rounds: ROUNDS,
    requests: REQUESTS,
    warmup: WARMUP,
    ...LOAD,
    routes: ROUTES,
    serverCpu: SERVER_CPU,
    loadCpu: LOAD_CPU,
    bootstrap: { resamples: RESAMPLES, seed: SEED, interval: '95 % percentile' }
  },
  ...(ROUNDS > 0 ? summarize(runs) : {}),
  profiles,
  runs
}
mkdirSync(RESULTS, { recursive: true })
// A run of profiles alone leaves the last full results in place.
writeFileSync(here(args.out ?? (ROUNDS > 0 ? 'results/overhead.json' : 'results/profile.json')), JSON.stringify(output, null, 2) + '\n')
if (ROUNDS > 0) console.log(overheadTable(output))
for (const entry of profiles) console.log('\n' + profileTable(entry))
if (profiles.length > 0) console.log('\n' + areaTable(profiles))
