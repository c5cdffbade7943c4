import Fastify, { type FastifyInstance } from 'fastify'
import fc from 'fast-check'
import t, { test, type Test } from 'tap'
import fastifyTelemetry, { FST_TELEMETRY_UNKNOWN_FEATURE, type TelemetryOptions } from '../lib/index'
import { FEATURE_LIMITS, OTHER_VALUE } from '../lib/features'
import { resolveOptions } from '../lib/options'
import { splitReport } from '../lib/report'
import { useEnv } from './helpers/env'
import { liveApp } from './helpers/live'
import { LogSink } from './helpers/log-sink'
import { quietOptions, snapshotOf } from './helpers/snapshot'

useEnv(t)

const FEATURES = {
  facts: { storage: ['postgres', 'sqlite', 'memory'], 'auth.mode': ['jwt', 'session'] },
  counters: ['exports', 'webhooks.sent']
} as const

async function appWith (t: Test, options: TelemetryOptions): Promise<FastifyInstance> {
  const app = Fastify()
  t.teardown(() => app.close())
  await app.register(fastifyTelemetry, options)
  await app.ready()
  return app
}

const onApp = async (t: Test): Promise<FastifyInstance> => await appWith(t, quietOptions(['/'], { features: FEATURES }))

test('a report carries every counter from 0 and no fact until one is set', async t => {
  const app = await onApp(t)
  const { facts, features } = snapshotOf(app)
  t.strictSame(facts, {})
  t.strictSame(features, { exports: 0, 'webhooks.sent': 0 })
})

test('without the features option a report carries empty facts and features', async t => {
  const app = await appWith(t, quietOptions(['/']))
  const { facts, features } = snapshotOf(app)
  t.strictSame({ facts, features }, { facts: {}, features: {} })
})

test('fact() sets the value reported; the last value set wins', async t => {
  const app = await onApp(t)
  app.telemetry.fact('storage', 'sqlite')
  app.telemetry.fact('auth.mode', 'jwt')
  app.telemetry.fact('storage', 'postgres')
  t.strictSame(snapshotOf(app).facts, { 'auth.mode': 'jwt', storage: 'postgres' })
})

test('a value not on the fact\'s list is reported as other, including "other" itself and non-strings', async t => {
  const app = await onApp(t)
  for (const value of ['mysql', 'Postgres', 'postgres ', '', OTHER_VALUE, 'constructor', 42, null, undefined]) {
    app.telemetry.fact('storage', value as string)
    t.equal(snapshotOf(app).facts.storage, OTHER_VALUE, String(value))
  }
})

test('counter() returns one handle per name; inc() adds 1 by default, or n', async t => {
  const app = await onApp(t)
  const exports = app.telemetry.counter('exports')
  t.equal(app.telemetry.counter('exports'), exports, 'resolved once, the same handle every time')
  exports.inc()
  exports.inc(41)
  app.telemetry.counter('webhooks.sent').inc(2)
  t.strictSame(snapshotOf(app).features, { exports: 42, 'webhooks.sent': 2 })
})

test('inc() ignores anything but a positive integer, and a count stops at 2^53 - 1', async t => {
  const app = await onApp(t)
  const exports = app.telemetry.counter('exports')
  for (const n of [0, -1, 1.5, NaN, Infinity, Number.MAX_SAFE_INTEGER + 2, '3', null]) exports.inc(n as number)
  t.equal(snapshotOf(app).features.exports, 0)
  exports.inc(Number.MAX_SAFE_INTEGER)
  exports.inc(5)
  t.equal(snapshotOf(app).features.exports, Number.MAX_SAFE_INTEGER)
})

test('an unknown name is an FST_TELEMETRY_UNKNOWN_FEATURE TypeError naming it and the declared names', async t => {
  const app = await onApp(t)
  const error = t.throws(() => app.telemetry.fact('Storage', 'sqlite'), {
    code: 'FST_TELEMETRY_UNKNOWN_FEATURE',
    message: 'fastify-anonymous-telemetry: unknown fact "Storage"; the features option declares: auth.mode, storage'
  })
  t.type(error, FST_TELEMETRY_UNKNOWN_FEATURE)
  t.type(error, TypeError)
  t.throws(() => app.telemetry.counter('export'), {
    message: 'fastify-anonymous-telemetry: unknown counter "export"; the features option declares: exports, webhooks.sent'
  })
  t.throws(() => app.telemetry.counter('storage'), { code: 'FST_TELEMETRY_UNKNOWN_FEATURE' }, 'a fact is no counter')
})

test('off (by any switch): the same calls do nothing, and unknown names fail the same way', async t => {
  const cases: Array<[TelemetryOptions, Record<string, string>]> = [
    [{ enabled: false }, {}], [{}, { DISABLE_TELEMETRY: '1' }], [{}, { DO_NOT_TRACK: '1' }]
  ]
  for (const [options, env] of cases) {
    const restore = useEnv(t, env)
    const app = await appWith(t, { ...quietOptions(['/'], { features: FEATURES }), ...options })
    restore()
    t.equal(app.telemetry.enabled, false)
    app.telemetry.fact('storage', 'sqlite')
    app.telemetry.counter('exports').inc(3)
    t.equal(app.telemetry.counter('exports'), app.telemetry.counter('webhooks.sent'), 'one idle handle')
    t.equal(app.telemetry.snapshot(), null)
    t.throws(() => app.telemetry.fact('nope', 'x'), { code: 'FST_TELEMETRY_UNKNOWN_FEATURE' })
    t.throws(() => app.telemetry.counter('nope'), { code: 'FST_TELEMETRY_UNKNOWN_FEATURE' })
  }
})

test('each registration has its own facts and counters, on or off', async t => {
  const on = await onApp(t)
  const off = await appWith(t, { enabled: false, features: { counters: ['other-app'] } })
  t.throws(() => off.telemetry.counter('exports'), { code: 'FST_TELEMETRY_UNKNOWN_FEATURE' })
  off.telemetry.counter('other-app').inc()
  t.throws(() => on.telemetry.counter('other-app'), { code: 'FST_TELEMETRY_UNKNOWN_FEATURE' })
})

test('the features option is validated whether telemetry is on or off', async t => {
  for (const env of [{}, { DO_NOT_TRACK: '1' }]) {
    t.throws(() => resolveOptions({ enabled: false, features: { counters: ['Bad'] } }, env), {
      code: 'FST_TELEMETRY_INVALID_OPTION', message: /option "features.counters" must be/
    })
  }
})

test('names are sorted and deduplicated; a fact\'s values too', async t => {
  const { features } = resolveOptions({ enabled: false, features: { facts: { b: ['y', 'x', 'y'], a: ['z'] }, counters: ['d', 'c', 'd'] } })
  t.strictSame([...features.facts], [['a', new Set(['z'])], ['b', new Set(['x', 'y'])]])
  t.strictSame(features.counters, ['c', 'd'])
})

test('"other" is reserved: no fact may list it', async t => {
  t.throws(() => resolveOptions({ enabled: false, features: { facts: { storage: ['sql', OTHER_VALUE] } } }), {
    code: 'FST_TELEMETRY_INVALID_OPTION',
    message: 'fastify-anonymous-telemetry: option "features.facts.storage" must be a list without "other", which is reported for any value not listed; received a string'
  })
})

test('a fact needs 1 to 32 values, each a name', async t => {
  for (const values of [[], ['Sql'], Array.from({ length: FEATURE_LIMITS.values + 1 }, (_, i) => `v${i}`), 'sql']) {
    t.throws(() => resolveOptions({ enabled: false, features: { facts: { storage: values } } }), {
      code: 'FST_TELEMETRY_INVALID_OPTION', message: /option "features.facts.storage" must be an array of 1 to 32 values/
    }, String(values))
  }
})

test('an unknown key inside features is an FST_TELEMETRY_UNKNOWN_OPTION naming it', async t => {
  t.throws(() => resolveOptions({ enabled: false, features: { fact: {} } }), {
    code: 'FST_TELEMETRY_UNKNOWN_OPTION', message: /unknown option "features.fact"; expected one of: facts, counters/
  })
})

test('the limits are accepted: 32 facts of 32 values and 64 counters, each name 64 characters', async t => {
  const name = (i: number): string => `n${i}`.padEnd(64, 'x')
  const values = Array.from({ length: FEATURE_LIMITS.values }, (_, i) => name(i))
  const facts = Object.fromEntries(Array.from({ length: FEATURE_LIMITS.facts }, (_, i) => [name(i), values]))
  const counters = Array.from({ length: FEATURE_LIMITS.counters }, (_, i) => name(i))
  const { features } = resolveOptions({ enabled: false, features: { facts, counters } })
  t.equal(features.facts.size, 32)
  t.equal(features.counters.length, 64)
})

test('end to end: the final report\'s part 1 carries the facts and counts, valid against schema/telemetry.json', async t => {
  // The test collector checks every event it receives against the schemas and fails the test on any violation.
  const { collector, app } = await liveApp(t, { features: FEATURES })
  await collector.waitForEvents('telemetry')
  app.telemetry.fact('storage', 'mysql')
  app.telemetry.counter('webhooks.sent').inc(7)
  await app.close()
  const last = collector.named('telemetry').at(-1)?.properties
  t.strictSame(last?.facts, { storage: OTHER_VALUE })
  t.strictSame(last?.features, { exports: 0, 'webhooks.sent': 7 })
})

test('dry run logs the facts and counts with the report', async t => {
  const logs = new LogSink()
  const app = Fastify({ logger: { level: 'info', stream: logs.stream } })
  t.teardown(() => app.close())
  await app.register(fastifyTelemetry, { issuerUrl: 'https://auth.example.com/', dryRun: true, identifyAfter: 1, features: FEATURES })
  await app.ready()
  await logs.waitFor('dry run, not sent: telemetry')
  app.telemetry.fact('auth.mode', 'session')
  app.telemetry.counter('exports').inc()
  await app.close()
  const reports = logs.matching('dry run, not sent: telemetry')
  const properties = (reports.at(-1)?.telemetryEvent as { properties: Record<string, unknown> }).properties
  t.strictSame(properties.facts, { 'auth.mode': 'session' })
  t.strictSame(properties.features, { exports: 1, 'webhooks.sent': 0 })
})

test('preview() shows the facts and counts in part 1 of the bodies it would post', async t => {
  const app = await onApp(t)
  app.telemetry.fact('storage', 'memory')
  app.telemetry.counter('exports').inc(3)
  const [first] = app.telemetry.preview()
  t.match(first.batch[0], { properties: { part: 1, facts: { storage: 'memory' }, features: { exports: 3, 'webhooks.sent': 0 } } })
})

test('whatever strings fact() is given, only listed values or "other" ever leave', async t => {
  const app = await onApp(t)
  const listed = new Set<string>([...FEATURES.facts.storage, OTHER_VALUE])
  fc.assert(fc.property(fc.array(fc.oneof(fc.string(), fc.string({ unit: 'binary' }), fc.constantFrom(...FEATURES.facts.storage)), { minLength: 1 }), values => {
    for (const value of values) app.telemetry.fact('storage', value)
    const json = JSON.stringify(splitReport(snapshotOf(app)))
    const sent = JSON.parse(json)[0].facts.storage
    if (!listed.has(sent)) throw new Error(`sent ${JSON.stringify(sent)}`)
    for (const value of values) {
      if (!listed.has(value) && value.length > 3 && json.includes(JSON.stringify(value).slice(1, -1))) throw new Error(`${JSON.stringify(value)} left`)
    }
  }), { numRuns: 200 })
  t.pass('held for 200 sequences of values')
})
