import Fastify, { type FastifyInstance, type onRequestHookHandler } from 'fastify'
import t, { test, type Test } from 'tap'
import { summarize } from '../lib/counters'
import { registerHealthRoute, type HealthResponse } from '../lib/health'
import { SCHEMA_VERSION, type TelemetryOptions, type TelemetrySnapshot } from '../lib/index'
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
    instanceId: 'instance', schemaVersion: SCHEMA_VERSION, uptime: ++builds, ...summarize(new Map()), memory: memoryRecord(gc)
  })
  registerHealthRoute(app, { url: '/health', metrics: true, onRequest: [] }, snapshot, () => clock.now)
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
