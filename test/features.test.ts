import Fastify, { type FastifyInstance } from 'fastify'
import fc from 'fast-check'
import t, { test, type Test } from 'tap'
import fastifyTelemetry, { FST_TELEMETRY_UNKNOWN_FEATURE, MAX_EVENT_BYTES, type TelemetryOptions, type TelemetryProperties } from '../lib/index'
import { FEATURE_LIMITS, OTHER_VALUE } from '../lib/features'
import { resolveOptions } from '../lib/options'
import { useEnv } from './helpers/env'
import { liveApp } from './helpers/live'
import { LogSink } from './helpers/log-sink'
import { fastCheckSeed, findLeaks, secret, SECRET_MARKER } from './helpers/secrets'
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

test('inc() ignores anything but a positive integer, never throwing, and a count stops at 2^53 - 1', async t => {
  const app = await onApp(t)
  const exports = app.telemetry.counter('exports')
  const hostile = { valueOf () { throw new Error('coerced') } }
  for (const n of [0, -1, -0, 1.5, NaN, Infinity, -Infinity, Number.MAX_SAFE_INTEGER + 2, 2 ** 64, '3', null, 3n, Symbol('n'), hostile]) {
    t.doesNotThrow(() => exports.inc(n as number), String(typeof n))
  }
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

test('without the features option, fact() and counter() say that nothing is declared', async t => {
  const app = await appWith(t, { enabled: false })
  t.throws(() => app.telemetry.fact('storage', 'sqlite'), {
    message: 'fastify-anonymous-telemetry: unknown fact "storage"; the features option declares: none'
  })
  t.throws(() => app.telemetry.counter('exports'), {
    message: 'fastify-anonymous-telemetry: unknown counter "exports"; the features option declares: none'
  })
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
  const on = { writeKey: 'key', issuerUrl: 'https://auth.example.com/', endpoints: ['/'] }
  for (const [options, env] of [[on, {}], [on, { TELEMETRY_DRY_RUN: '1' }], [on, { DO_NOT_TRACK: '1' }], [{ enabled: false }, {}]] as const) {
    t.throws(() => resolveOptions({ ...options, features: { counters: ['Bad'] } }, env), {
      code: 'FST_TELEMETRY_INVALID_OPTION', message: /option "features.counters\[0\]" must be/
    }, JSON.stringify([options, env]))
  }
})

test('names are sorted and deduplicated; a fact\'s values too', async t => {
  const { features } = resolveOptions({ enabled: false, features: { facts: { b: ['y', 'x', 'y'], a: ['z'] }, counters: ['d', 'c', 'd'] } })
  t.strictSame([...features.facts], [['a', new Set(['z'])], ['b', new Set(['x', 'y'])]])
  t.strictSame(features.counters, ['c', 'd'])
})

const NAME_RULE = 'of lowercase letters, digits, "_", "." and "-", starting with a letter or digit, at most 64 characters'

// Each bad name or value is named by its own path in the option, and shown as given: it is a literal of the app's code.
const BAD_FEATURES: Array<[unknown, string]> = [
  [{ counters: ['exports', 'Exports'] }, `option "features.counters[1]" must be a counter name ${NAME_RULE}; received "Exports"`],
  [{ counters: ['ex port'] }, `option "features.counters[0]" must be a counter name ${NAME_RULE}; received "ex port"`],
  [{ counters: ['_x'] }, 'option "features.counters[0]" must be a counter name'],
  [{ counters: [''] }, 'option "features.counters[0]" must be a counter name'],
  [{ counters: ['c'.repeat(65)] }, `option "features.counters[0]" must be a counter name ${NAME_RULE}; received "${'c'.repeat(65)}"`],
  [{ counters: ['c'.repeat(201)] }, `option "features.counters[0]" must be a counter name ${NAME_RULE}; received a string of 201 characters`],
  [{ counters: ['a', 1] }, 'option "features.counters[1]" must be a counter name of lowercase letters, digits, "_", "." and "-", starting with a letter or digit, at most 64 characters; received the number 1'],
  [{ counters: Array.from({ length: 65 }, (_, i) => `c${i}`) }, 'option "features.counters" must be an array of 0 to 64 counter names; received 65 distinct counter names'],
  [{ facts: { storage: ['sql', 'Lite', 'mem'] } }, `option "features.facts.storage[1]" must be a value ${NAME_RULE}; received "Lite"`],
  [{ facts: { storage: ['sql', 'mem', OTHER_VALUE] } },
    'option "features.facts.storage[2]" must be a value other than "other", which is reported for any value not listed; received "other"'],
  [{ facts: { storage: [] } }, 'option "features.facts.storage" must be an array of 1 to 32 values; received 0 distinct values'],
  [{ facts: { storage: 'sql' } }, 'option "features.facts.storage" must be an array of 1 to 32 values; received a string'],
  [{ facts: { storage: Array.from({ length: 33 }, (_, i) => `v${i}`) } }, 'option "features.facts.storage" must be an array of 1 to 32 values; received 33 distinct values'],
  [{ facts: { storage: ['sql'], Mode: ['a'] } }, `option "features.facts.Mode" must be a fact name ${NAME_RULE}; received "Mode"`],
  [{ facts: Object.fromEntries(Array.from({ length: 33 }, (_, i) => [`f${i}`, ['a']])) },
    'option "features.facts" must be an object of 0 to 32 facts, each name -> its array of values; received 33 facts'],
  [{ facts: ['storage'] }, 'option "features.facts" must be an object of 0 to 32 facts, each name -> its array of values; received an array']
]

test('a bad name or value is an FST_TELEMETRY_INVALID_OPTION naming its path in the option', async t => {
  for (const [features, message] of BAD_FEATURES) {
    t.throws(() => resolveOptions({ enabled: false, features }), {
      code: 'FST_TELEMETRY_INVALID_OPTION', message: `fastify-anonymous-telemetry: ${message}`
    }, message)
  }
})

test('duplicates count once toward the limits', async t => {
  const { features } = resolveOptions({ enabled: false, features: { counters: [...Array.from({ length: 64 }, (_, i) => `c${i}`), 'c0'] } })
  t.equal(features.counters.length, 64)
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

const FACT_NAMES = Object.keys(FEATURES.facts) as Array<keyof typeof FEATURES.facts>

/** A call of fact(): a declared name or a secret as the name; a listed value, a secret or any string as the value. */
const factCall = fc.record({
  name: fc.oneof({ arbitrary: fc.constantFrom(...FACT_NAMES), weight: 3 }, secret, fc.string()),
  value: fc.oneof(fc.constantFrom(...FEATURES.facts.storage, ...FEATURES.facts['auth.mode']), secret, fc.string(), fc.string({ unit: 'binary' }))
})

test('whatever fact() is given as name or value, only listed names and values reach a real collector: every byte searched', async t => {
  const { collector, app } = await liveApp(t, { features: FEATURES })
  const secrets: string[] = []
  let unknown = 0
  await fc.assert(fc.asyncProperty(fc.array(factCall, { minLength: 1, maxLength: 8 }), async calls => {
    for (const { name, value } of calls) {
      for (const text of [name, value]) if (text.startsWith(SECRET_MARKER)) secrets.push(text)
      try {
        app.telemetry.fact(name, value)
      } catch (error) {
        if (Object.hasOwn(FEATURES.facts, name) || !(error instanceof FST_TELEMETRY_UNKNOWN_FEATURE)) throw error
        unknown++
      }
    }
    // A report goes out while these values are set, so that each run's values are in what is sent.
    await collector.waitForEvents('telemetry', collector.named('telemetry').length + 1)
  }), { numRuns: 100, seed: fastCheckSeed() })
  await app.close()

  const reports = collector.named('telemetry').map(event => event.properties as Record<string, unknown>).filter(properties => properties.part === 1)
  t.ok(reports.length > 100, `${reports.length} reports received`)
  for (const { facts } of reports as Array<{ facts: Record<string, string> }>) {
    for (const [name, value] of Object.entries(facts)) {
      const listed: readonly string[] = FEATURES.facts[name as keyof typeof FEATURES.facts] ?? []
      if (!listed.includes(value) && value !== OTHER_VALUE) t.fail(`sent ${JSON.stringify(name)}: ${JSON.stringify(value)}`)
    }
  }
  t.ok(secrets.length > 50 && unknown > 50, `${secrets.length} secrets thrown, ${unknown} calls with an unknown name refused`)
  t.strictSame(findLeaks(secrets, collector.wireBytes), [], 'no secret, whole or in part, in any request the collector received')
})

test('at the limits (32 facts of 32 values, 64 counters at 2^53 - 1, names of 64 characters) every event sent is under 32 KB', async t => {
  const name = (kind: string, i: number): string => `${kind}${i}`.padEnd(64, 'x')
  const values = Array.from({ length: FEATURE_LIMITS.values }, (_, i) => name('value', i))
  const facts = Object.fromEntries(Array.from({ length: FEATURE_LIMITS.facts }, (_, i) => [name('fact', i), values]))
  const counters = Array.from({ length: FEATURE_LIMITS.counters }, (_, i) => name('counter', i))
  const endpoints = Array.from({ length: 150 }, (_, i) => `/${String(i).padStart(3, '0')}/${'e'.repeat(190)}`)
  const { collector, app } = await liveApp(t, { features: { facts, counters }, endpoints }, app => {
    for (const endpoint of endpoints) app.all(endpoint, async () => 'ok')
  })
  for (const fact of Object.keys(facts)) app.telemetry.fact(fact, values[FEATURE_LIMITS.values - 1])
  for (const counter of counters) app.telemetry.counter(counter).inc(Number.MAX_SAFE_INTEGER)
  for (const endpoint of endpoints) {
    for (const method of ['GET', 'POST', 'PUT', 'DELETE'] as const) await app.inject({ method, url: endpoint })
  }
  await collector.waitForEvents('identify')
  await app.close()

  const sent = collector.rawBodies.flatMap(body => (JSON.parse(body) as { batch: unknown[] }).batch)
  const reports = sent.filter(event => (event as { event?: string }).event === 'telemetry')
  t.ok(reports.length > 1, `the report was split: ${reports.length} telemetry events`)
  const [first] = reports.map(event => (event as { properties: TelemetryProperties }).properties).filter(properties => properties.part === 1)
  t.equal(Object.keys(first.facts ?? {}).length, FEATURE_LIMITS.facts, 'part 1 carries every fact')
  t.ok(Object.values(first.features ?? {}).every(count => count === Number.MAX_SAFE_INTEGER), 'and every count at 2^53 - 1')
  const largest = Math.max(...sent.map(event => Buffer.byteLength(JSON.stringify(event))))
  t.ok(largest < MAX_EVENT_BYTES, `the largest event sent: ${largest} bytes`)
})
