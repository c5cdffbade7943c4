import { fork } from 'node:child_process'
import { once } from 'node:events'
import { join } from 'node:path'
import { performance } from 'node:perf_hooks'
import t, { test } from 'tap'
import { Collector, type Fault } from './helpers/collector'
import { MuteProxy } from './helpers/proxy'

const APP = join(__dirname, 'fixtures', 'exit-app.js')
// An app whose own handles are gone exits within ~200 ms on a quiet machine. The bound is far above that, for a
// busy one, and still below anything telemetry could hold the process for: a request's deadline (10 s here), a
// hanging collector or a mute proxy (never), a 429's Retry-After (an hour).
const EXIT_BOUND_MS = 5000

// Child processes start slowly on a busy machine: give the file the time its cases need.
t.setTimeout(600_000)

type Intervals = 'short' | 'default' | 'defaults'

/** Starts the fixture app in a child process (built package, no coverage: it is not lib/) reporting to `collector`. */
function startApp (collector: Collector, mode = 'exit', intervals: Intervals = 'short', proxy?: MuteProxy): ReturnType<typeof fork> {
  const env: NodeJS.ProcessEnv = { ...process.env, DISABLE_TELEMETRY: '', DO_NOT_TRACK: '', TELEMETRY_DRY_RUN: '', _TAPJS_PROCESSINFO_COVERAGE_: '0' }
  // undici reads the lowercase spellings first, an empty one included: the only proxy is the test's, if any.
  for (const name of ['HTTP_PROXY', 'HTTPS_PROXY', 'NO_PROXY', 'http_proxy', 'https_proxy', 'no_proxy']) delete env[name]
  if (proxy !== undefined) env.HTTP_PROXY = proxy.url
  return fork(APP, [collector.url, mode, intervals], {
    env,
    stdio: ['ignore', 'inherit', 'inherit', 'ipc']
  })
}

/** Disconnects the child, its last handle but telemetry's, and resolves with its exit code and how long it took. */
async function exitAfterDisconnect (child: ReturnType<typeof fork>, exited: Promise<unknown[]>): Promise<[unknown, number]> {
  const started = performance.now()
  child.disconnect()
  const [code] = await exited
  return [code, performance.now() - started]
}

interface Scenario {
  what: string
  /** Sets the collector up and resolves once telemetry's request is where the scenario wants it. */
  arrange: (collector: Collector) => { proxy?: Promise<MuteProxy>, inFlight: (collector: Collector, proxy?: MuteProxy) => Promise<void> }
}

const FAULTS: Array<[Fault, string]> = [
  ['ok', 'answers at once'],
  ['hang', 'never answers'],
  ['trickle', 'trickles its answer byte by byte'],
  ['429', 'answers 429 with Retry-After: 3600'],
  ['500', 'answers 500'],
  ['301', 'redirects']
]

const SCENARIOS: Scenario[] = [
  ...FAULTS.map(([fault, behaviour]): Scenario => ({
    what: `the collector ${behaviour}`,
    arrange: collector => {
      collector.fault = fault
      return { inFlight: async collector => await collector.waitFor(() => collector.requests >= 1) }
    }
  })),
  {
    // The identify is answered; the report then waits on the same keep-alive socket, which undici would ref again.
    what: 'the collector hangs after one answer',
    arrange: () => ({
      inFlight: async collector => {
        await collector.waitForEvents('identify')
        collector.fault = 'hang'
        await collector.waitFor(() => collector.requests >= 2)
      }
    })
  },
  {
    what: 'HTTP_PROXY is a proxy that accepts the connection and never answers CONNECT',
    arrange: () => ({ proxy: MuteProxy.start(), inFlight: async (collector, proxy) => await proxy?.waitForConnects(1) })
  }
]

for (const intervals of ['default', 'short'] as const) {
  // Answers that end a request (ok, 429, 500, 301) behave alike at both intervals: short ones test them once.
  const scenarios = intervals === 'default' ? SCENARIOS : SCENARIOS.filter(({ what }) => !/^the collector (answers|redirects)/.test(what))
  for (const { what, arrange } of scenarios) {
    test(`telemetry never keeps the process alive while ${what} (${intervals} intervals)`, async t => {
      const collector = await Collector.start()
      t.teardown(() => collector.close())
      const arranged = arrange(collector)
      const proxy = await arranged.proxy
      if (proxy !== undefined) t.teardown(() => proxy.close())
      const child = startApp(collector, 'exit', intervals, proxy)
      const exited = once(child, 'exit')
      await once(child, 'message')
      await arranged.inFlight(collector, proxy)
      const [code, elapsed] = await exitAfterDisconnect(child, exited)
      t.equal(code, 0)
      t.ok(elapsed < EXIT_BOUND_MS, `exited ${Math.round(elapsed)} ms after its last other handle was gone`)
    })
  }
}

test('`await app.close()` as the last thing a process does still delivers the final report', async t => {
  const collector = await Collector.start()
  t.teardown(() => collector.close())
  const child = startApp(collector, 'close')
  const exited = once(child, 'exit')
  await once(child, 'message')
  const reportsBefore = (await collector.waitForEvents('telemetry')).length
  const [code] = await exitAfterDisconnect(child, exited)
  t.equal(code, 0)
  t.ok(collector.named('telemetry').length > reportsBefore, 'a report arrived after close began')
})

test('during close(), a hanging collector holds the process for flushTimeout at most', async t => {
  const collector = await Collector.start()
  t.teardown(() => collector.close())
  const child = startApp(collector, 'close', 'defaults')
  const exited = once(child, 'exit')
  await once(child, 'message')
  await collector.waitForEvents('telemetry')
  collector.fault = 'hang'
  const [code, elapsed] = await exitAfterDisconnect(child, exited)
  t.equal(code, 0)
  // flushTimeout is 5 s by default; the collector never answers the final report.
  t.ok(elapsed < 5000 + EXIT_BOUND_MS, `exited ${Math.round(elapsed)} ms after close() began`)
  t.ok(collector.requests > 2, 'the final report was attempted')
})
