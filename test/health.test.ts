import Fastify, { type FastifyInstance, type RouteOptions, type onRequestHookHandler } from 'fastify'
import t, { test, type Test } from 'tap'
import { summarize } from '../lib/counters'
import { registerHealthRoute, type HealthResponse } from '../lib/health'
import fastifyTelemetry, { SCHEMA_VERSION, type TelemetryOptions, type TelemetrySnapshot } from '../lib/index'
import { GcObserver, memoryRecord } from '../lib/memory'
import { buildApp, telemetryOptions } from './helpers/app'
import { Collector } from './helpers/collector'
import { useEnv } from './helpers/env'

useEnv(t)

/** A ready app with telemetry on (nothing sent during the test: the first report is 15 min away) or off. */
async function startApp (t: Test, extra: TelemetryOptions): Promise<FastifyInstance> {
  const collector = await Collector.start()
  t.teardown(() => collector.close())
  const app = await buildApp(telemetryOptions(collector, { identifyAfter: 900_000, ...extra }))
  t.teardown(() => app.close())
  return app
}

const requireToken: onRequestHookHandler = (request, reply, done) => {
  if (request.headers.authorization === 'Bearer probe') done()
  else reply.code(401).send({ error: 'unauthorized' })
}

test('there is no health route unless the health option is set', async t => {
  const app = await startApp(t, {})
  t.equal((await app.inject('/health')).statusCode, 404)
})

test('health: true answers GET /health with 200 { status: "ok" }', async t => {
  const app = await startApp(t, { health: true })
  const response = await app.inject('/health')
  t.equal(response.statusCode, 200)
  t.strictSame(response.json(), { status: 'ok' })
})

test('health.url moves the route', async t => {
  const app = await startApp(t, { health: { url: '/internal/status' } })
  t.strictSame((await app.inject('/internal/status')).json(), { status: 'ok' })
  t.equal((await app.inject('/health')).statusCode, 404)
})

test('health.metrics adds the telemetry snapshot to the answer while telemetry is on', async t => {
  const app = await startApp(t, { health: { metrics: true } })
  await app.inject('/clients')
  const body = (await app.inject('/health')).json()
  t.equal(body.status, 'ok')
  t.match(body.metrics, { instanceId: app.telemetry.instanceId, requests: 1, paths: { '/clients': { requests: 1 } }, memory: {} })
})

test('health.metrics adds nothing while telemetry is off, and the route still answers', async t => {
  const app = await startApp(t, { enabled: false, health: { metrics: true } })
  t.strictSame((await app.inject('/health')).json(), { status: 'ok' })
})

/**
 * The health route alone on a bare app, with a clock the test sets: each snapshot built has `uptime` = how many were
 * built so far, and fresh memory figures, so a rebuilt one never equals the one before.
 */
async function healthWithClock (t: Test): Promise<{ app: FastifyInstance, clock: { now: number }, builds: () => number }> {
  const app = Fastify()
  t.teardown(() => app.close())
  const clock = { now: 0 }
  const gc = new GcObserver()
  let builds = 0
  const snapshot = (): TelemetrySnapshot => ({
    instanceId: 'instance', schemaVersion: SCHEMA_VERSION, uptime: ++builds, ...summarize(new Map()), memory: memoryRecord(gc), facts: {}, features: {}
  })
  registerHealthRoute(app, { url: '/health', metrics: true, onRequest: [], logLevel: undefined, schema: {} }, snapshot, () => clock.now)
  await app.ready()
  return { app, clock, builds: () => builds }
}

async function metricsAt (app: FastifyInstance): Promise<TelemetrySnapshot> {
  return (await app.inject('/health')).json<HealthResponse>().metrics as TelemetrySnapshot
}

test('the health snapshot is built on the first request, not when the route is registered', async t => {
  const { app, builds } = await healthWithClock(t)
  t.equal(builds(), 0)
  t.equal((await metricsAt(app)).uptime, 1)
  t.equal(builds(), 1)
})

test('within a second of being built, the health route answers with the same snapshot', async t => {
  const { app, clock, builds } = await healthWithClock(t)
  const first = await metricsAt(app)
  clock.now = 999
  t.strictSame(await metricsAt(app), first)
  t.equal(builds(), 1)
})

test('a health snapshot a second old is rebuilt on the next request, and then cached again', async t => {
  const { app, clock, builds } = await healthWithClock(t)
  await metricsAt(app)
  clock.now = 1000
  const second = await metricsAt(app)
  t.equal(second.uptime, 2)
  clock.now = 1999
  t.strictSame(await metricsAt(app), second, 'the rebuilt snapshot is cached for a second from its own build')
  clock.now = 5000
  t.equal((await metricsAt(app)).uptime, 3)
  t.equal(builds(), 3)
})

test('health.onRequest protects the route, e.g. with a token', async t => {
  for (const onRequest of [requireToken, [requireToken]]) {
    const app = await startApp(t, { health: { metrics: true, onRequest } })
    const refused = await app.inject('/health')
    t.equal(refused.statusCode, 401)
    t.notMatch(refused.body, 'metrics')
    const allowed = await app.inject({ url: '/health', headers: { authorization: 'Bearer probe' } })
    t.equal(allowed.statusCode, 200)
  }
})

test('health.onRequest protects the route while telemetry is off too', async t => {
  const app = await startApp(t, { enabled: false, health: { onRequest: requireToken } })
  t.equal((await app.inject('/health')).statusCode, 401)
})

test('requests to the health route are not counted, even when /health is an allow-listed endpoint', async t => {
  const app = await startApp(t, { health: true })
  t.ok(app.telemetry.endpoints.includes('/health'))
  for (let i = 0; i < 5; i++) await app.inject('/health')
  const snapshot = app.telemetry.snapshot()
  t.equal(snapshot?.requests, 0)
  t.strictSame(snapshot?.paths, {})
})

test('the register option prefix moves the health route, as Fastify\'s prefix would', async t => {
  const app = Fastify()
  t.teardown(() => app.close())
  await app.register(fastifyTelemetry, { enabled: false, prefix: '/ops/', health: true })
  t.equal((await app.inject('/ops/health')).statusCode, 200)
  t.equal((await app.inject('/health')).statusCode, 404)
})

test('with prefix, a health route at "/" answers at the prefix itself', async t => {
  const app = Fastify()
  t.teardown(() => app.close())
  await app.register(fastifyTelemetry, { enabled: false, prefix: '/ops', health: { url: '/' } })
  t.equal((await app.inject('/ops')).statusCode, 200)
})

test('prefix without the health route is rejected rather than ignored: there is nothing for it to move', async t => {
  await t.rejects(buildApp({ enabled: false, prefix: '/ops' } as TelemetryOptions),
    { code: 'FST_TELEMETRY_INVALID_OPTION', message: /option "prefix" must be left out: it only moves the health route/ })
})

/** The health route's options, as any plugin registered before it sees them (how @fastify/swagger collects routes). */
async function healthRouteOptions (t: Test, options: TelemetryOptions): Promise<RouteOptions> {
  const app = Fastify()
  t.teardown(() => app.close())
  let seen: RouteOptions | undefined
  app.addHook('onRoute', route => { if (route.url === '/health') seen = route })
  await app.register(fastifyTelemetry, { enabled: false, ...options })
  await app.ready()
  return seen as RouteOptions
}

test('the health route is hidden from @fastify/swagger by default (schema.hide)', async t => {
  // @fastify/swagger leaves out every route whose schema has `hide: true` (its shouldRouteHide).
  t.equal(((await healthRouteOptions(t, { health: true })).schema as { hide?: boolean }).hide, true)
})

test('health.schema replaces the default schema, which shows the route in @fastify/swagger', async t => {
  const schema = (await healthRouteOptions(t, { health: { schema: { tags: ['ops'] } } })).schema
  t.strictSame(Object.keys(schema ?? {}), ['tags'])
})

/** Request log lines of one probe, on an app that logs at info. */
async function probeLogLines (t: Test, options: TelemetryOptions & { logLevel?: string }): Promise<string[]> {
  const lines: string[] = []
  const app = Fastify({ logger: { level: 'info', stream: { write: (line: string) => lines.push(line) } } })
  t.teardown(() => app.close())
  await app.register(fastifyTelemetry, { enabled: false, health: true, ...options } as TelemetryOptions)
  await app.ready()
  lines.length = 0
  t.equal((await app.inject('/health')).statusCode, 200)
  return lines
}

test('health.logLevel sets the level of the route\'s request log lines, so probes need not flood the log', async t => {
  t.equal((await probeLogLines(t, {})).length, 2, 'incoming request and request completed, at info')
  t.strictSame(await probeLogLines(t, { health: { logLevel: 'warn' } }), [])
})

test('the register option logLevel applies to the health route too, unless health.logLevel says otherwise', async t => {
  t.strictSame(await probeLogLines(t, { logLevel: 'warn' }), [])
  t.equal((await probeLogLines(t, { logLevel: 'warn', health: { logLevel: 'info' } })).length, 2)
})
