import { performance } from 'node:perf_hooks'
import Fastify, { type FastifyInstance } from 'fastify'
import t, { test, type Test } from 'tap'
import { Client } from 'undici'
import fastifyTelemetry, { MAX_PENDING_REPORTS } from '../lib/index'
import { addRoutes, telemetryOptions } from './helpers/app'
import { Collector, type CollectedEvent, type Fault } from './helpers/collector'
import { useEnv } from './helpers/env'
import { LogSink } from './helpers/log-sink'
import { settle, watchProcessFailures } from './helpers/process-failures'

useEnv(t)
// Each test has its own collector and app, and waits only on its own events: they can run side by side.
t.jobs = 8

// Every wait below is on an event (a log line, a request reaching the collector, a report arriving); the only
// time bound is the one the issue sets for close(), wide enough for any machine.

/** What `close()` may take at most while the collector misbehaves: seconds, against a collector that never answers. */
const CLOSE_BOUND_MS = 10_000
const FLUSH_TIMEOUT = 500

/** A failure of the collector or of the network between it and the app. */
type Outage = Exclude<Fault, 'ok'> | 'refused'

const OUTAGES: Array<{ outage: Outage, what: string }> = [
  { outage: 'refused', what: 'refuses connections (nothing listening)' },
  { outage: '500', what: 'answers 500' },
  { outage: '429', what: 'answers 429 with Retry-After: 3600' },
  { outage: '400', what: 'answers 400' },
  { outage: 'hang', what: 'never answers' },
  { outage: 'reset', what: 'resets the connection mid-response' },
  { outage: 'trickle', what: 'trickles its answer byte by byte' }
]

/** The app's traffic during an outage: each call, what it must answer, and the endpoint it counts under. */
const CALLS = [
  { method: 'GET', path: '/clients', status: 200, body: '{"clients":[]}', endpoint: '/clients' },
  { method: 'GET', path: '/clients/42', status: 200, body: '{"id":"x"}', endpoint: '/clients' },
  { method: 'POST', path: '/clients/42/secret', status: 200, body: '{"ok":true}', endpoint: '/clients' },
  { method: 'POST', path: '/oauth2/token', status: 200, body: '{"access_token":"redacted"}', endpoint: '/oauth2/token' },
  { method: 'GET', path: '/files/a/b', status: 200, body: 'file', endpoint: '/files' },
  { method: 'GET', path: '/nope', status: 404, body: undefined, endpoint: '/' }
] as const

/** Requests the app serves during an outage, at the least. */
const MIN_TRAFFIC = 300

/** The log line (debug) the plugin writes when it gave up on an event. */
const NOT_DELIVERED = 'event not delivered'

/**
 * A collector that can fail, and a listening app reporting to it every 60 ms (keep-alives every 40 ms) with
 * `flushTimeout` 500. `maxPending` is the most events ever seen waiting, sampled on every response and on every
 * log line (the plugin logs each time its queue overflows, the moment it is fullest).
 */
class World {
  maxPending = 0
  made = 0
  readonly expected: Record<string, number> = {}
  private client: Client | null = null

  private constructor (
    readonly outage: Outage,
    public collector: Collector,
    readonly port: number,
    readonly app: FastifyInstance,
    readonly logs: LogSink
  ) {}

  static async start (t: Test, outage: Outage): Promise<World> {
    const collector = await Collector.start()
    const port = Number(new URL(collector.url).port)
    const logs = new LogSink()
    const app = Fastify({ logger: { level: 'debug', stream: logs.stream } })
    const world = new World(outage, collector, port, app, logs)
    t.teardown(async () => {
      await world.client?.close()
      await app.close()
      await world.collector.close()
    })
    const options = telemetryOptions(collector, { flushTimeout: FLUSH_TIMEOUT })
    await world.impose()
    await app.register(fastifyTelemetry, options)
    app.addHook('onResponse', async () => world.samplePending())
    logs.onLine(() => world.samplePending())
    addRoutes(app)
    await app.listen({ port: 0, host: '127.0.0.1' })
    const { port: appPort } = app.server.address() as { port: number }
    world.client = new Client(`http://127.0.0.1:${appPort}`)
    return world
  }

  samplePending (): void {
    this.maxPending = Math.max(this.maxPending, this.app.telemetry.pending)
  }

  /** Starts the outage: the collector goes away, or starts failing in its particular way. */
  async impose (): Promise<void> {
    if (this.outage === 'refused') await this.collector.close()
    else this.collector.fault = this.outage
  }

  /** Resolves once a delivery has run into the outage: it reached the failing collector, or failed to connect. */
  async attempted (): Promise<void> {
    if (this.outage === 'refused') await this.logs.waitFor(NOT_DELIVERED, this.logs.matching(NOT_DELIVERED).length + 1)
    else await this.collector.waitForRequests(1)
  }

  /** Ends the outage: a collector listens again at the same address, or the same one behaves again. */
  async recover (): Promise<void> {
    if (this.outage === 'refused') this.collector = await Collector.start(this.collector.writeKey, this.port)
    else this.collector.fault = 'ok'
  }

  /**
   * Calls the app, round robin over `CALLS`, until `until` has settled and at least `MIN_TRAFFIC` calls were made;
   * returns the calls that did not answer as they should (status and body). Each call waits for the previous one:
   * the traffic lasts as long as the events take to happen.
   */
  async traffic (until: Promise<unknown>): Promise<string[]> {
    const done = isSettled(until)
    const wrong: string[] = []
    while (!done() || this.made < MIN_TRAFFIC) {
      const call = CALLS[this.made % CALLS.length]
      const response = await (this.client as Client).request({ method: call.method, path: call.path })
      const body = await response.body.text()
      this.made++
      this.expected[call.endpoint] = (this.expected[call.endpoint] ?? 0) + 1
      if (response.statusCode !== call.status || (call.body !== undefined && body !== call.body)) {
        wrong.push(`${call.method} ${call.path} -> ${response.statusCode} ${body}`)
      }
    }
    return wrong
  }
}

/** Tells, without waiting, whether `promise` has settled. */
function isSettled (promise: Promise<unknown>): () => boolean {
  let done = false
  promise.then(() => { done = true }, () => { done = true })
  return () => done
}

function requestsByEndpoint (report: CollectedEvent): Record<string, number> {
  const paths = report.properties?.paths as Record<string, { requests: number }>
  return Object.fromEntries(Object.entries(paths).map(([endpoint, record]) => [endpoint, record.requests]))
}

for (const { outage, what } of OUTAGES) {
  test(`when the collector ${what}`, async t => {
    const failures = watchProcessFailures(t)
    const world = await World.start(t, outage)
    const { app } = world

    await t.test('app requests keep succeeding, with correct answers, while reports run into the outage', async t => {
      const wrong = await world.traffic(world.attempted())
      t.same(wrong, [], `${world.made} requests, every one answered correctly`)
    })

    await t.test('pending never exceeds the cap', async t => {
      t.ok(world.maxPending <= MAX_PENDING_REPORTS, `at most ${world.maxPending} events pending (cap ${MAX_PENDING_REPORTS})`)
    })

    await t.test('after recovery, a report counts every request made during the outage', async t => {
      await world.recover()
      const complete = (event: CollectedEvent): boolean =>
        event.event === 'telemetry' && event.properties?.requests === world.made && event.properties?.responses === world.made
      await world.collector.waitFor(events => events.some(complete))
      const report = world.collector.events.find(complete) as CollectedEvent
      t.same(requestsByEndpoint(report), world.expected, `all ${world.made} requests and responses counted, per endpoint`)
    })

    let closeMs = 0
    await t.test('close() resolves long before the outage would end', async t => {
      await world.impose()
      // Close while deliveries are stuck in the outage.
      await world.attempted()
      const started = performance.now()
      await app.close()
      closeMs = Math.round(performance.now() - started)
      t.ok(closeMs < CLOSE_BOUND_MS, `close() took ${closeMs} ms (flushTimeout ${FLUSH_TIMEOUT} ms, bound ${CLOSE_BOUND_MS} ms)`)
    })

    await settle()
    t.same(failures, [], 'no unhandled rejection or uncaught exception')
    t.comment(`faults: collector ${what}: ${world.made} app requests during the outage, 0 wrong answers, ` +
      `max pending ${world.maxPending} (cap ${MAX_PENDING_REPORTS}), close() ${closeMs} ms, ` +
      `recovery report counted all ${world.made}`)
  })
}

test('a long outage piles nothing up: no listener-leak warning after many failed deliveries', async t => {
  const warnings: string[] = []
  const onWarning = (warning: Error): void => { warnings.push(`${warning.name}: ${warning.message}`) }
  process.on('warning', onWarning)
  t.teardown(() => process.off('warning', onWarning))
  const collector = await Collector.start()
  t.teardown(() => collector.close())
  collector.fault = '429'
  const logs = new LogSink()
  const app = Fastify({ logger: { level: 'debug', stream: logs.stream } })
  t.teardown(() => app.close())
  await app.register(fastifyTelemetry, telemetryOptions(collector, { flushTimeout: FLUSH_TIMEOUT }))
  await app.ready()
  // Each delivery rate-limited this way costs the SDK two pauses on its abort signal; Node warns past ten listeners.
  await logs.waitFor(NOT_DELIVERED, 6)
  await app.close()
  await settle()
  t.same(warnings, [], `${logs.matching(NOT_DELIVERED).length} failed deliveries, no warning`)
})
