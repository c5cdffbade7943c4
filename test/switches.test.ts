import Fastify from 'fastify'
import t, { test, type Test } from 'tap'
import fastifyTelemetry, { type TelemetryOptions } from '../lib/index'
import { resolveOptions } from '../lib/options'
import { kCell } from '../lib/recorder'
import { addRoutes, buildApp, telemetryOptions } from './helpers/app'
import { Collector } from './helpers/collector'
import { useEnv } from './helpers/env'
import { LEVEL, LogSink } from './helpers/log-sink'

useEnv(t)

const VALID = { writeKey: 'key', issuerUrl: 'https://auth.example.com/', endpoints: ['/clients'] }
const SET = ['1', 'true', 'TRUE', 'yes']
const UNSET = ['0', 'false', 'no', '', 'FALSE', 'No', ' 0 ']
const ENV_OFF_SWITCHES = ['DISABLE_TELEMETRY', 'DO_NOT_TRACK'] as const

test('DISABLE_TELEMETRY or DO_NOT_TRACK set to 1, true, TRUE or yes turns telemetry off', async t => {
  for (const name of ENV_OFF_SWITCHES) {
    for (const value of SET) {
      t.match(resolveOptions(VALID, { [name]: value }), { enabled: false, dryRun: false, disabledBy: `env ${name}` },
        `${name}=${value}`)
    }
  }
})

test('DISABLE_TELEMETRY or DO_NOT_TRACK set to 0, false, no or empty, in any case, leave telemetry on', async t => {
  for (const name of ENV_OFF_SWITCHES) {
    for (const value of UNSET) {
      t.match(resolveOptions(VALID, { [name]: value }), { enabled: true, disabledBy: null }, `${name}=${JSON.stringify(value)}`)
    }
  }
})

test('enabled: false turns telemetry off whatever the environment says', async t => {
  for (const env of [{}, { DISABLE_TELEMETRY: '0' }, { DO_NOT_TRACK: 'false' }, { DISABLE_TELEMETRY: 'no', DO_NOT_TRACK: '' }]) {
    t.match(resolveOptions({ enabled: false }, env), { enabled: false, disabledBy: 'option enabled: false' }, JSON.stringify(env))
  }
})

test('DISABLE_TELEMETRY is named when both environment switches are set', async t => {
  t.equal(resolveOptions(VALID, { DISABLE_TELEMETRY: '1', DO_NOT_TRACK: '1' }).disabledBy, 'env DISABLE_TELEMETRY')
})

test('while telemetry is off, writeKey, issuerUrl and endpoints are not required', async t => {
  for (const env of [{ DISABLE_TELEMETRY: '1' }, { DO_NOT_TRACK: '1' }]) {
    t.equal(resolveOptions({}, env).enabled, false)
  }
})

test('TELEMETRY_DRY_RUN set to 1, true, TRUE or yes forces dry run', async t => {
  for (const value of SET) {
    t.equal(resolveOptions(VALID, { TELEMETRY_DRY_RUN: value }).dryRun, true, value)
  }
})

test('TELEMETRY_DRY_RUN set to 0, false, no or empty does not turn dry run on, nor the dryRun option off', async t => {
  for (const value of UNSET) {
    t.equal(resolveOptions(VALID, { TELEMETRY_DRY_RUN: value }).dryRun, false, JSON.stringify(value))
    t.equal(resolveOptions({ ...VALID, dryRun: true }, { TELEMETRY_DRY_RUN: value }).dryRun, true, JSON.stringify(value))
  }
})

test('TELEMETRY_DRY_RUN does not turn telemetry on, or count as dry run, while it is off', async t => {
  t.match(resolveOptions(VALID, { TELEMETRY_DRY_RUN: '1', DO_NOT_TRACK: '1' }), { enabled: false, dryRun: false })
  t.match(resolveOptions({ enabled: false, dryRun: true }, {}), { enabled: false, dryRun: false })
})

interface OffCase {
  label: string
  options: TelemetryOptions
  env: Partial<Record<typeof ENV_OFF_SWITCHES[number], string>>
  /** What the log line must name. */
  switchName: string
}

const OFF_CASES: OffCase[] = [
  { label: 'enabled: false', options: { enabled: false }, env: {}, switchName: 'option enabled: false' },
  ...ENV_OFF_SWITCHES.flatMap(name => SET.map(value => ({
    label: `${name}=${value}`, options: {}, env: { [name]: value }, switchName: `env ${name}`
  })))
]

/**
 * Runs an app with telemetry switched off, with intervals short enough that an app with telemetry on would have
 * identified, reported and kept alive, setting a fact and counting a feature as it goes. A sibling app with telemetry on
 * proves that those intervals passed.
 */
async function offCycle (t: Test, { options, env }: OffCase) {
  const collector = await Collector.start()
  const siblingCollector = await Collector.start()
  t.teardown(() => Promise.all([collector.close(), siblingCollector.close()]))

  const restoreEnv = useEnv(t, env)
  const logs = new LogSink()
  const app = Fastify({ logger: { level: 'info', stream: logs.stream } })
  await app.register(fastifyTelemetry, telemetryOptions(collector, { ...options, features: { facts: { storage: ['sqlite'] }, counters: ['exports'] } }))
  addRoutes(app)
  await app.ready()
  restoreEnv()
  // The feature calls an app makes while off: they must leave no more trace than the rest.
  app.telemetry.fact('storage', 'sqlite')
  const exports = app.telemetry.counter('exports')

  const sibling = await buildApp(telemetryOptions(siblingCollector))
  for (const url of ['/clients', '/clients/1', '/nope', '/files/a/b']) {
    await app.inject(url)
    exports.inc()
    await sibling.inject(url)
  }
  await siblingCollector.waitForEvents('telemetry', 1)
  await siblingCollector.waitForEvents('keep-alive', 1)
  const snapshot = app.telemetry.snapshot()
  const routes = app.printRoutes({ includeHooks: true })
  await app.close()
  await sibling.close()
  return { app, collector, logs, routes, snapshot }
}

for (const offCase of OFF_CASES) {
  test(`with ${offCase.label}`, async t => {
    const { app, collector, logs, routes, snapshot } = await offCycle(t, offCase)

    t.test('the collector receives not one request over a full cycle and close', async t => {
      t.equal(collector.requests, 0)
    })

    t.test('the app carries no telemetry hook or request decoration', async t => {
      const bare = Fastify()
      addRoutes(bare)
      await bare.ready()
      t.equal(routes, bare.printRoutes({ includeHooks: true }))
      t.notMatch(routes, /onRequest|onResponse|onRequestAbort/)
      t.equal(app.hasRequestDecorator(kCell), false)
      await bare.close()
    })

    t.test('fastify.telemetry says telemetry is off and holds nothing', async t => {
      // fact() and counter() are checked in test/features.test.ts: off, they only check names.
      const { snapshot: _, preview, fact: _fact, counter: _counter, ...decorator } = app.telemetry
      t.strictSame(decorator, { enabled: false, dryRun: false, clusterId: null, instanceId: null, endpoints: [], pending: 0 })
      t.equal(snapshot, null)
      t.strictSame(preview(), [])
    })

    t.test('exactly one info log line names the switch', async t => {
      const lines = logs.matching('fastify-anonymous-telemetry')
      t.equal(lines.length, 1)
      t.equal(lines[0].level, LEVEL.info)
      t.equal(lines[0].msg, `fastify-anonymous-telemetry: telemetry is off (${offCase.switchName}); nothing is collected or sent`)
    })
  })
}

test('the hook comparison above would see telemetry: while on, each route carries its global hooks', async t => {
  const collector = await Collector.start()
  t.teardown(() => collector.close())
  const app = await buildApp(telemetryOptions(collector, { identifyAfter: 900_000 }))
  t.teardown(() => app.close())
  t.match(app.printRoutes({ includeHooks: true }), /\(onRequest\) \["telemetryOnRequest\(\)"\][\s\S]*\(onResponse\) \["telemetryOnResponse\(\)"\]/)
  t.equal(app.hasRequestDecorator(kCell), true)
})

test('DO_NOT_TRACK=0 and DISABLE_TELEMETRY=false in the environment leave telemetry on, end to end', async t => {
  const collector = await Collector.start()
  t.teardown(() => collector.close())
  useEnv(t, { DO_NOT_TRACK: '0', DISABLE_TELEMETRY: 'false' })
  const app = await buildApp(telemetryOptions(collector))
  t.teardown(() => app.close())
  t.equal(app.telemetry.enabled, true)
  const [identify] = await collector.waitForEvents('identify')
  t.equal(identify.anonymousId, app.telemetry.clusterId)
})
