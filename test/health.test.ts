import type { FastifyInstance, onRequestHookHandler } from 'fastify'
import t, { test, type Test } from 'tap'
import type { TelemetryOptions } from '../lib/index'
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

test('the health route answers from a snapshot built at most once per second', async t => {
  const app = await startApp(t, { health: { metrics: true } })
  const first = (await app.inject('/health')).json()
  await app.inject('/clients')
  const second = (await app.inject('/health')).json()
  // The request in between is in a fresh snapshot but not in the cached one.
  t.strictSame(second, first)
  t.equal(app.telemetry.snapshot()?.requests, 1)
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
