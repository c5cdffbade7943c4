import { createHash, createHmac } from 'node:crypto'
import Fastify, { type FastifyInstance } from 'fastify'
import t, { test, type Test } from 'tap'
import fastifyTelemetry, { SCHEMA_VERSION, mergeReport, type TelemetryOptions, type TelemetryProperties } from '../lib/index'
import { MAX_TIMER_MS } from '../lib/options'
import { addRoutes, buildApp, ENDPOINTS, telemetryOptions } from './helpers/app'
import { Collector } from './helpers/collector'
import { useEnv } from './helpers/env'
import { closeInOrder } from './helpers/live'
import { LogSink } from './helpers/log-sink'

useEnv(t)

const ISSUER = 'https://auth.example.com/'
const WRITE_KEY = 'wk_S3CR3T_preview_write_key'
const UUID_V4 = /^[0-9a-f]{8}-[0-9a-f]{4}-4[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}$/

/**
 * A ready app with telemetry on and its logs. The default `identifyAfter` (15 min) means nothing is sent while the
 * test looks at the decorator; the collector is there so that nothing could leave 127.0.0.1 if it were.
 */
async function startApp (t: Test, extra: TelemetryOptions = {}): Promise<{ app: FastifyInstance, logs: LogSink }> {
  const collector = await Collector.start()
  t.teardown(() => collector.close())
  const logs = new LogSink()
  const app = Fastify({ logger: { level: 'info', stream: logs.stream } })
  t.teardown(() => app.close())
  await app.register(fastifyTelemetry, telemetryOptions(collector, { identifyAfter: 900_000, ...extra }))
  addRoutes(app)
  await app.ready()
  return { app, logs }
}

test('fastify.telemetry says telemetry is on and not in dry run', async t => {
  const { app } = await startApp(t)
  t.equal(app.telemetry.enabled, true)
  t.equal(app.telemetry.dryRun, false)
})

test('the cluster id is the lowercase hex SHA-512 of the normalised issuer URL', async t => {
  const { app } = await startApp(t, { issuerUrl: 'HTTPS://Auth.Example.com' })
  t.equal(app.telemetry.clusterId, createHash('sha512').update(ISSUER).digest('hex'))
  t.match(app.telemetry.clusterId, /^[0-9a-f]{128}$/)
})

test('with hashKey the cluster id is HMAC-SHA-512 of the issuer URL, unlike the plain hash', async t => {
  const { app } = await startApp(t, { hashKey: 'operator secret' })
  t.equal(app.telemetry.clusterId, createHmac('sha512', 'operator secret').update(ISSUER).digest('hex'))
  t.not(app.telemetry.clusterId, createHash('sha512').update(ISSUER).digest('hex'))
})

test('the cluster id is the same in every instance; the instance id is a new UUID v4 in each', async t => {
  const { app: first } = await startApp(t, { hashKey: 'operator secret' })
  const { app: second } = await startApp(t, { hashKey: 'operator secret' })
  t.equal(first.telemetry.clusterId, second.telemetry.clusterId)
  t.match(first.telemetry.instanceId, UUID_V4)
  t.match(second.telemetry.instanceId, UUID_V4)
  t.not(first.telemetry.instanceId, second.telemetry.instanceId)
})

test('fastify.telemetry.endpoints is exactly the allow-list plus "/", sorted', async t => {
  const { app } = await startApp(t)
  t.strictSame(app.telemetry.endpoints, ['/', ...ENDPOINTS].sort())
})

test('fastify.telemetry.pending is the number of events waiting, none before the first report', async t => {
  const { app } = await startApp(t)
  t.equal(app.telemetry.pending, 0)
})

test('fastify.telemetry.snapshot() returns the report that would be sent now', async t => {
  const { app } = await startApp(t)
  await app.inject('/clients/42')
  const snapshot = app.telemetry.snapshot()
  t.match(snapshot, {
    instanceId: app.telemetry.instanceId,
    schemaVersion: SCHEMA_VERSION,
    uptime: Number,
    requests: 1,
    responses: 1,
    aborted: 0,
    latency: { count: 1, sum: Number, buckets: Array },
    size: { count: 1, sum: Number, buckets: Array, unknown: 0 },
    status: { 200: 1 },
    methods: { GET: { requests: 1 } },
    paths: { '/clients': { requests: 1, methods: { GET: { requests: 1 } } } },
    memory: { rss: Number, heapUsed: Number, gcCycles: Number, gcPauseMs: Number }
  })
  t.strictSame(Object.keys(snapshot?.paths ?? {}), ['/clients'])
})

test('fastify.telemetry.snapshot() before ready gives an uptime of 0: the clock starts at ready', async t => {
  const collector = await Collector.start()
  t.teardown(() => collector.close())
  const app = Fastify()
  t.teardown(() => app.close())
  await app.register(fastifyTelemetry, telemetryOptions(collector, { identifyAfter: MAX_TIMER_MS }))
  t.equal(app.telemetry.snapshot()?.uptime, 0)
})

test('fastify.telemetry.preview() returns the bodies a report sent now would post: the wire form, the write key redacted', async t => {
  const collector = await Collector.start(WRITE_KEY)
  const app = await buildApp(telemetryOptions(collector, { reportInterval: 200, keepAliveInterval: MAX_TIMER_MS }))
  closeInOrder(t, { collector, app })
  await app.inject('/clients/42')
  await app.inject({ method: 'POST', url: '/oauth2/token' })
  const preview = app.telemetry.preview()
  const [sent] = await collector.waitForEvents('telemetry')
  t.equal(preview.length, 1, 'one part')
  const [body] = preview
  t.strictSame(Object.keys(body), ['batch', 'writeKey', 'sentAt'], 'the keys of the body the SDK posts, in its order')
  t.strictSame(Object.keys(JSON.parse(collector.rawBodies[0])), ['batch', 'writeKey', 'sentAt'])
  t.equal(body.writeKey, '[redacted]')
  t.notMatch(JSON.stringify(preview), WRITE_KEY)
  const [event] = body.batch
  t.strictSame(Object.keys(event), Object.keys(sent), 'the fields the collector received, in the same order')
  t.strictSame(event.context, sent.context)
  const { uptime, memory, reportId, ...counters } = event.properties as TelemetryProperties
  t.match(sent.properties, counters, 'the counters the next report carried')
  t.match(counters, { requests: 2, paths: { '/clients': { requests: 1 }, '/oauth2/token': { requests: 1 } } })
})

test('fastify.telemetry.preview() of a report too large for one event returns every part', async t => {
  const endpoints = Array.from({ length: 400 }, (_, i) => `/resource-${i}`)
  const app = await buildApp({ dryRun: true, issuerUrl: ISSUER, endpoints, identifyAfter: MAX_TIMER_MS }, app => {
    for (const endpoint of endpoints) app.get(endpoint, async () => 'ok')
  })
  t.teardown(() => app.close())
  for (const endpoint of endpoints) await app.inject(endpoint)
  const parts = app.telemetry.preview().map(body => body.batch[0].properties as TelemetryProperties)
  t.ok(parts.length > 1, `${parts.length} parts`)
  t.strictSame(parts.map(part => part.part), parts.map((_, i) => i + 1))
  t.ok(parts.every(part => part.parts === parts.length && part.reportId === parts[0]?.reportId), 'one report')
  t.equal(mergeReport(parts).requests, endpoints.length, 'together, the whole report')
})

test('fastify.telemetry.preview() returns an empty array while telemetry is off: nothing would be sent', async t => {
  const app = await buildApp({ enabled: false })
  t.teardown(() => app.close())
  t.strictSame(app.telemetry.preview(), [])
})
