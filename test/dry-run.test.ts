import Fastify, { type FastifyInstance } from 'fastify'
import t, { test, type Test } from 'tap'
import fastifyTelemetry, { type TelemetryOptions } from '../lib/index'
import { MAX_TIMER_MS } from '../lib/options'
import { addRoutes, telemetryOptions } from './helpers/app'
import { Collector } from './helpers/collector'
import { useEnv } from './helpers/env'
import { LEVEL, LogSink } from './helpers/log-sink'

useEnv(t)

const WRITE_KEY = 'wk_S3CR3T_must_never_be_logged'
const DRY_RUN_LINE = 'fastify-anonymous-telemetry dry run, not sent: '

interface DryRunApp {
  app: FastifyInstance
  collector: Collector
  logs: LogSink
}

/**
 * A logging app pointed at a live collector, so that anything sent would be seen. `options` replace the standard
 * ones; `undefined` removes one. The environment is set only while the plugin reads it.
 */
async function startApp (t: Test, options: TelemetryOptions, env: { TELEMETRY_DRY_RUN?: string } = {}): Promise<DryRunApp> {
  const collector = await Collector.start(WRITE_KEY)
  t.teardown(() => collector.close())
  const logs = new LogSink()
  const app = Fastify({ logger: { level: 'info', stream: logs.stream } })
  t.teardown(() => app.close())
  const restoreEnv = useEnv(t, env)
  await app.register(fastifyTelemetry, { ...telemetryOptions(collector), ...options })
  addRoutes(app)
  await app.ready()
  restoreEnv()
  return { app, collector, logs }
}

/** Lets a whole cycle pass (identify, report, keep-alive), makes a few requests, then closes the app. */
async function runCycle ({ app, logs }: DryRunApp): Promise<void> {
  await app.inject('/clients/1')
  await app.inject({ method: 'POST', url: '/oauth2/token' })
  await logs.waitFor(`${DRY_RUN_LINE}identify`)
  await logs.waitFor(`${DRY_RUN_LINE}telemetry`)
  await logs.waitFor(`${DRY_RUN_LINE}keep-alive`)
  await app.close()
}

test('with dryRun: true', async t => {
  const dryRun = await startApp(t, { dryRun: true })
  const { app, collector, logs } = dryRun
  const clusterId = app.telemetry.clusterId
  await runCycle(dryRun)
  const events = logs.matching(DRY_RUN_LINE)

  t.test('fastify.telemetry says so', async t => {
    t.equal(app.telemetry.dryRun, true)
  })

  t.test('the startup log says events are logged, not sent', async t => {
    t.match(logs.matching('telemetry is on')[0].msg, '(dry run: events are logged, not sent)')
  })

  t.test('nothing reaches the collector', async t => {
    t.equal(collector.requests, 0)
  })

  t.test('each event is logged once at info, exactly as it would go on the wire', async t => {
    t.ok(events.length >= 3)
    for (const line of events) {
      t.equal(line.level, LEVEL.info)
      t.match(line, {
        telemetryEvent: {
          type: /^(identify|track)$/,
          anonymousId: clusterId,
          context: { ip: '0.0.0.0', library: { name: String, version: String } },
          messageId: String,
          timestamp: String,
          _metadata: Object
        },
        telemetryBatch: { writeKey: '[redacted]', sentAt: String }
      })
    }
    const ids = events.map(line => (line.telemetryEvent as { messageId: string }).messageId)
    t.equal(new Set(ids).size, ids.length)
  })

  t.test('the final report on close is logged too, with every request made', async t => {
    const reports = events.filter(line => line.msg === `${DRY_RUN_LINE}telemetry`)
    t.match(reports.at(-1)?.telemetryEvent, { event: 'telemetry', properties: { requests: 2, paths: { '/clients': {}, '/oauth2/token': {} } } })
  })

  t.test('the write key appears in no log line', async t => {
    t.notMatch(logs.text, WRITE_KEY)
    t.notMatch(logs.text, Buffer.from(`${WRITE_KEY}:`).toString('base64'))
  })
})

test('the identify and a first report are logged at ready: nothing leaves, so there is nothing to wait for', async t => {
  const { logs } = await startApp(t, { dryRun: true, identifyAfter: MAX_TIMER_MS, reportInterval: MAX_TIMER_MS, keepAliveInterval: MAX_TIMER_MS })
  await logs.waitFor(`${DRY_RUN_LINE}identify`)
  await logs.waitFor(`${DRY_RUN_LINE}telemetry`)
  t.strictSame(logs.matching(DRY_RUN_LINE).map(line => line.msg), [`${DRY_RUN_LINE}identify`, `${DRY_RUN_LINE}telemetry`])
})

test('TELEMETRY_DRY_RUN=1 turns dry run on: events are logged and nothing reaches the collector', async t => {
  const dryRun = await startApp(t, {}, { TELEMETRY_DRY_RUN: '1' })
  t.equal(dryRun.app.telemetry.dryRun, true)
  await runCycle(dryRun)
  t.equal(dryRun.collector.requests, 0)
  t.notMatch(dryRun.logs.text, WRITE_KEY)
})

test('dry run without endpoints lists the cut route templates at startup and reports under them', async t => {
  const { app, logs } = await startApp(t, { dryRun: true, endpoints: undefined })
  const discovered = ['/', '/clients', '/files', '/numbers', '/oauth2/token']
  t.match(logs.matching('no endpoints option')[0], { level: LEVEL.info, endpoints: discovered })
  t.strictSame(app.telemetry.endpoints, discovered)
  await app.inject('/numbers/7')
  t.strictSame(Object.keys(app.telemetry.snapshot()?.paths ?? {}), ['/numbers'])
})

test('dry run with endpoints lists nothing at startup', async t => {
  const { logs } = await startApp(t, { dryRun: true })
  t.equal(logs.matching('no endpoints option').length, 0)
})

test('dry run works without a write key', async t => {
  const dryRun = await startApp(t, { dryRun: true, writeKey: undefined })
  await runCycle(dryRun)
  t.equal(dryRun.collector.requests, 0)
})

/** The shape of an event: its keys in order, and those of the objects the SDK adds or fills. */
function shape (event: Record<string, any>): unknown {
  return {
    keys: Object.keys(event),
    context: Object.keys(event.context),
    metadata: Object.keys(event._metadata),
    library: event.context.library,
    integrations: event.integrations,
    messageId: /^node-next-\d+-[0-9a-f-]{36}$/.test(event.messageId),
    timestamp: new Date(event.timestamp).toISOString() === event.timestamp
  }
}

test('dry run, which never loads the SDK, logs each event in the very shape the SDK puts on the wire', async t => {
  const dryRun = await startApp(t, { dryRun: true })
  await runCycle(dryRun)
  const logged = new Map(dryRun.logs.matching(DRY_RUN_LINE)
    .map(line => line.telemetryEvent as Record<string, any>)
    .map(event => [event.event ?? event.type, event]))
  const { collector } = await startApp(t, {})
  await collector.waitForEvents('keep-alive')
  for (const name of ['identify', 'telemetry', 'keep-alive']) {
    const sent = collector.named(name)[0]
    t.strictSame(shape(logged.get(name) as Record<string, any>), shape(sent), `${name}: same fields in the same order, same context.library`)
  }
})
