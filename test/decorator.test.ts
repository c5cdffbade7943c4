import { createHash, createHmac } from 'node:crypto'
import Fastify, { type FastifyInstance } from 'fastify'
import t, { test, type Test } from 'tap'
import fastifyTelemetry, { SCHEMA_VERSION, type TelemetryOptions } from '../lib/index'
import { addRoutes, ENDPOINTS, telemetryOptions } from './helpers/app'
import { Collector } from './helpers/collector'
import { useEnv } from './helpers/env'
import { LEVEL, LogSink } from './helpers/log-sink'

useEnv(t)

const ISSUER = 'https://auth.example.com/'
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

test('startup logs once, at info, that telemetry is on, the cluster id and how to turn it off', async t => {
  const { app, logs } = await startApp(t)
  const lines = logs.matching('fastify-anonymous-telemetry')
  t.equal(lines.length, 1)
  t.match(lines[0], {
    level: LEVEL.info,
    clusterId: app.telemetry.clusterId,
    msg: 'fastify-anonymous-telemetry: anonymous usage telemetry is on; first report after 15 min of uptime. ' +
      'Turn it off with DISABLE_TELEMETRY=1, DO_NOT_TRACK=1 or the option enabled: false'
  })
})

test('the startup log gives a wait shorter than a minute in milliseconds', async t => {
  const { logs } = await startApp(t, { identifyAfter: 20_000 })
  t.match(logs.matching('fastify-anonymous-telemetry')[0].msg, 'first report after 20000 ms of uptime')
})
