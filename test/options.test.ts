import Fastify, { type FastifyInstance } from 'fastify'
import t, { test, type Test } from 'tap'
import fastifyTelemetry, {
  FST_TELEMETRY_INVALID_OPTION, FST_TELEMETRY_MISSING_OPTION, FST_TELEMETRY_UNKNOWN_OPTION, type TelemetryOptions
} from '../lib/index'
import { DEFAULTS, MAX_TIMER_MS, resolveOptions } from '../lib/options'
import { useEnv } from './helpers/env'

useEnv(t)

const VALID = { writeKey: 'key', issuerUrl: 'https://auth.example.com/', endpoints: ['/clients'] }
const NO_ENV = {}

/** Registers the plugin in a fresh app and waits until it is ready; the app is closed when the test ends. */
async function register (t: Test, options: unknown): Promise<FastifyInstance> {
  const app = Fastify()
  t.teardown(() => app.close())
  await app.register(fastifyTelemetry, options as TelemetryOptions)
  await app.ready()
  return app
}

/** `{ health: { url: value } }` for `health.url`, `{ path: value }` for `path`, on top of valid options. */
function withOption (name: string, value: unknown): Record<string, unknown> {
  const [key, subKey] = name.split('.')
  return { ...VALID, [key]: subKey === undefined ? value : { [subKey]: value } }
}

const NOT_A_STRING = ['', '   ', 42, null, true, ['key'], {}]
const NOT_A_BOOLEAN = ['true', 1, 0, null, {}]
const NOT_MILLISECONDS = [0, -1, 1.5, NaN, Infinity, MAX_TIMER_MS + 1, '5000', null]

const BAD_VALUES: Record<string, unknown[]> = {
  writeKey: NOT_A_STRING,
  issuerUrl: [...NOT_A_STRING, 'auth.example.com', '/relative', 'not a url', 'ftp://auth.example.com'],
  endpoints: [
    '/clients', null, {}, [1], [''], ['clients'], ['/clients/:id'], ['/files/*'], ['/a?b'], ['/a#b'], ['/a b'], ['/a//b'],
    ['/' + 'a'.repeat(200)]
  ],
  hashKey: NOT_A_STRING,
  enabled: NOT_A_BOOLEAN,
  host: [...NOT_A_STRING, 'collector.example.com', 'ftp://collector.example.com', 'https://collector.example.com/v1'],
  path: [
    ...NOT_A_STRING, 'v1/batch', '/v1 batch', '/v1/batch?x=1', '/v1/batch#x',
    // Each resolves, against host, to another origin or another path than the one given.
    '//127.0.0.1:9999/v1/batch', '/\\127.0.0.1:9999/v1/batch', '/\\/127.0.0.1/v1/batch', '/../v1/batch', '/v1/./batch',
    '/v1/%2e%2e/batch', '/v1/batch/', '/ü'
  ],
  version: [...NOT_A_STRING, 'v'.repeat(201), 'v'.repeat(40000)],
  hash: [...NOT_A_STRING, 'a'.repeat(201)],
  buildTime: [...NOT_A_STRING, '2'.repeat(201)],
  identifyAfter: NOT_MILLISECONDS,
  reportInterval: NOT_MILLISECONDS,
  keepAliveInterval: NOT_MILLISECONDS,
  flushTimeout: NOT_MILLISECONDS,
  health: ['yes', 1, null, [], () => {}],
  'health.url': [...NOT_A_STRING, 'health', '/he alth', '/health?x', '/health#x'],
  'health.metrics': NOT_A_BOOLEAN,
  'health.onRequest': ['hook', 1, null, ['hook'], [() => {}, 1]],
  'health.logLevel': ['loud', '', 30, null],
  'health.schema': ['hide', null, [], true],
  logLevel: ['loud', 30, null],
  logSerializers: ['x', null, { err: 'not a function' }],
  prefix: ['ops', '/o ps', null],
  dryRun: NOT_A_BOOLEAN,
  features: ['facts', null, [], () => {}],
  // A bad name or value inside them is named by its own path: test/features.test.ts.
  'features.facts': [null, ['storage'], Object.fromEntries(Array.from({ length: 33 }, (_, i) => [`fact-${i}`, ['a']]))],
  'features.counters': ['exports', null, { exports: 1 }, Array.from({ length: 65 }, (_, i) => `counter-${i}`)]
}

for (const [name, values] of Object.entries(BAD_VALUES)) {
  test(`an invalid ${name} rejects register with FST_TELEMETRY_INVALID_OPTION naming "${name}"`, async t => {
    for (const value of values) {
      await t.rejects(register(t, withOption(name, value)), {
        code: 'FST_TELEMETRY_INVALID_OPTION',
        message: `fastify-anonymous-telemetry: option "${name}" must be `
      }, `${name}: ${String(value)}`)
    }
  })
}

test('an option error is an FST_TELEMETRY_* TypeError whose message says what was expected and received', async t => {
  const cases: Array<[unknown, string]> = [
    [0, 'received the number 0'],
    ['', 'received an empty string'],
    ['5000', 'received a string'],
    ['5'.repeat(40000), 'received a string of 40000 characters'],
    [null, 'received null'],
    [[5000], 'received an array'],
    [true, 'received a value of type boolean']
  ]
  for (const [value, received] of cases) {
    const error = await t.rejects(register(t, { ...VALID, flushTimeout: value }))
    t.type(error, FST_TELEMETRY_INVALID_OPTION)
    t.type(error, TypeError)
    t.equal((error as Error).message,
      `fastify-anonymous-telemetry: option "flushTimeout" must be an integer number of milliseconds from 1 to ${MAX_TIMER_MS}; ${received}`)
  }
})

test('an unknown option, such as a typo, rejects register with FST_TELEMETRY_UNKNOWN_OPTION naming it', async t => {
  for (const typo of ['reportIntervl', 'writekey', 'endpoint', 'disabled']) {
    const error = await t.rejects(register(t, { ...VALID, [typo]: 1 }), {
      code: 'FST_TELEMETRY_UNKNOWN_OPTION',
      message: `fastify-anonymous-telemetry: unknown option "${typo}"; expected one of: writeKey, issuerUrl, endpoints,`
    })
    t.type(error, FST_TELEMETRY_UNKNOWN_OPTION)
  }
})

test('an unknown health option rejects register with FST_TELEMETRY_UNKNOWN_OPTION naming health.<key>', async t => {
  // Fastify's own register options are accepted at the top level only.
  for (const typo of ['typo', 'metric', 'prefix']) {
    await t.rejects(register(t, { ...VALID, health: { [typo]: true } }), {
      code: 'FST_TELEMETRY_UNKNOWN_OPTION',
      message: `fastify-anonymous-telemetry: unknown option "health.${typo}"; expected one of: url, metrics, onRequest`
    })
  }
})

test('options that are not an object reject register with FST_TELEMETRY_INVALID_OPTION naming "options"', async t => {
  for (const options of ['options', 42, true, [], () => 'options']) {
    await t.rejects(register(t, options), {
      code: 'FST_TELEMETRY_INVALID_OPTION',
      message: /^fastify-anonymous-telemetry: option "options" must be an object; received /
    })
  }
})

test('missing options count as empty options', async t => {
  for (const options of [undefined, null]) {
    t.throws(() => resolveOptions(options, NO_ENV), { code: 'FST_TELEMETRY_MISSING_OPTION', message: /"issuerUrl"/ })
    t.equal(resolveOptions(options, { DO_NOT_TRACK: '1' }).enabled, false)
  }
})

test('options are validated even while telemetry is off, so a typo cannot hide until it is turned on', async t => {
  await t.rejects(register(t, { enabled: false, reportInterval: '5' }), { code: 'FST_TELEMETRY_INVALID_OPTION' })
  await t.rejects(register(t, { enabled: false, reportIntervl: 5 }), { code: 'FST_TELEMETRY_UNKNOWN_OPTION' })
})

test('issuerUrl is required while telemetry is on, even in dry run', async t => {
  for (const options of [{ writeKey: 'key', endpoints: [] }, { dryRun: true }]) {
    const error = await t.rejects(register(t, options), {
      code: 'FST_TELEMETRY_MISSING_OPTION',
      message: 'fastify-anonymous-telemetry: option "issuerUrl" is required while telemetry is on'
    })
    t.type(error, FST_TELEMETRY_MISSING_OPTION)
  }
})

test('writeKey and endpoints are required while telemetry is on and not in dry run', async t => {
  await t.rejects(register(t, { ...VALID, writeKey: undefined }), {
    code: 'FST_TELEMETRY_MISSING_OPTION',
    message: 'fastify-anonymous-telemetry: option "writeKey" is required while telemetry is on (or use dryRun)'
  })
  await t.rejects(register(t, { ...VALID, endpoints: undefined }), {
    code: 'FST_TELEMETRY_MISSING_OPTION',
    message: 'fastify-anonymous-telemetry: option "endpoints" is required while telemetry is on (or use dryRun to list them)'
  })
})

test('dry run needs neither writeKey nor endpoints', async t => {
  const app = await register(t, { issuerUrl: VALID.issuerUrl, dryRun: true })
  t.equal(app.telemetry.dryRun, true)
})

test('no option is required while telemetry is off', async t => {
  const app = await register(t, { enabled: false })
  t.equal(app.telemetry.enabled, false)
})

test('every optional setting has its documented default', async t => {
  t.same(resolveOptions(VALID, NO_ENV), {
    enabled: true,
    disabledBy: null,
    dryRun: false,
    writeKey: 'key',
    issuerUrl: 'https://auth.example.com/',
    endpoints: ['/', '/clients'],
    hashKey: null,
    host: DEFAULTS.host,
    path: '/v1/batch',
    build: { version: 'unknown', hash: 'unknown', buildTime: 'unknown' },
    identifyAfter: 900_000,
    reportInterval: 900_000,
    keepAliveInterval: 300_000,
    flushTimeout: 5000,
    health: null,
    features: { facts: new Map(), counters: [] },
    log: {}
  })
  t.equal(DEFAULTS.healthUrl, '/health')
})

test('an option set to undefined counts as not set', async t => {
  const resolved = resolveOptions({ ...VALID, host: undefined, reportInterval: undefined, health: undefined }, NO_ENV)
  t.equal(resolved.host, DEFAULTS.host)
  t.equal(resolved.reportInterval, DEFAULTS.reportInterval)
  t.equal(resolved.health, null)
})

test('given settings are kept, URLs in their normalised form', async t => {
  const resolved = resolveOptions({
    ...VALID,
    issuerUrl: 'HTTPS://Auth.Example.com',
    hashKey: 'secret',
    host: 'http://127.0.0.1:4318/',
    path: '/v2/batch',
    version: '1.2.3',
    hash: 'abc123',
    buildTime: '2024-01-01T00:00:00Z',
    identifyAfter: 10,
    reportInterval: 20,
    keepAliveInterval: 30,
    flushTimeout: 40
  }, NO_ENV)
  t.match(resolved, {
    issuerUrl: 'https://auth.example.com/',
    hashKey: 'secret',
    host: 'http://127.0.0.1:4318',
    path: '/v2/batch',
    build: { version: '1.2.3', hash: 'abc123', buildTime: '2024-01-01T00:00:00Z' },
    identifyAfter: 10,
    reportInterval: 20,
    keepAliveInterval: 30,
    flushTimeout: 40
  })
})

test('health true means the default route without metrics or hooks', async t => {
  t.same(resolveOptions({ ...VALID, health: true }, NO_ENV).health,
    { url: '/health', metrics: false, onRequest: [], logLevel: undefined, schema: { hide: true } })
  t.equal(resolveOptions({ ...VALID, health: false }, NO_ENV).health, null)
})

test('health options accept a url, metrics and one hook or an array of hooks', async t => {
  const hook = (): void => {}
  t.same(resolveOptions({ ...VALID, health: { url: '/status', metrics: true, onRequest: hook } }, NO_ENV).health,
    { url: '/status', metrics: true, onRequest: [hook], logLevel: undefined, schema: { hide: true } })
  t.same(resolveOptions({ ...VALID, health: { onRequest: [hook, hook] } }, NO_ENV).health,
    { url: '/health', metrics: false, onRequest: [hook, hook], logLevel: undefined, schema: { hide: true } })
})

test('intervals and timeouts accept every integer from 1 to 2147483647 ms', async t => {
  for (const name of ['identifyAfter', 'reportInterval', 'keepAliveInterval', 'flushTimeout']) {
    for (const value of [1, MAX_TIMER_MS]) {
      t.equal(resolveOptions(withOption(name, value), NO_ENV)[name as 'flushTimeout'], value, `${name}: ${value}`)
    }
    for (const value of [0, MAX_TIMER_MS + 1, 1.5, NaN]) {
      t.throws(() => resolveOptions(withOption(name, value), NO_ENV), { code: 'FST_TELEMETRY_INVALID_OPTION' }, `${name}: ${value}`)
    }
  }
})

test('endpoints are sorted, deduplicated, stripped of a trailing slash, and always include "/"', async t => {
  t.same(resolveOptions({ ...VALID, endpoints: ['/oauth2/token/', '/clients', '/clients/', '/oauth2/token'] }, NO_ENV).endpoints,
    ['/', '/clients', '/oauth2/token'])
  t.same(resolveOptions({ ...VALID, endpoints: [] }, NO_ENV).endpoints, ['/'])
  t.same(resolveOptions({ ...VALID, endpoints: ['/'] }, NO_ENV).endpoints, ['/'])
})

test('build facts and endpoints of up to 200 characters are accepted: every event they travel in stays under 32 KB', async t => {
  const long = 'v'.repeat(200)
  const resolved = resolveOptions({ ...VALID, version: long, hash: long, buildTime: long, endpoints: ['/' + 'a'.repeat(199)] }, NO_ENV)
  t.strictSame(resolved.build, { version: long, hash: long, buildTime: long })
  t.ok(resolved.endpoints?.includes('/' + 'a'.repeat(199)))
})

test("Fastify's own register options are accepted alongside the plugin's", async t => {
  const app = await register(t, { ...VALID, prefix: '/api', health: true, logLevel: 'warn', logSerializers: {} })
  t.equal(app.telemetry.enabled, true)
})

test('a path is kept when it resolves, against host, to host\'s own origin and to itself', async t => {
  for (const path of ['/', '/v1/batch', '/segment/v1/batch', '/a-b_c~d.e']) {
    t.equal(resolveOptions({ ...VALID, host: 'http://127.0.0.1:8080', path }, NO_ENV).path, path)
  }
})

test('a path that would send events and the write key to another host is refused, naming path and where it leads', async t => {
  await t.rejects(register(t, { ...VALID, host: 'http://127.0.0.1:8080', path: '//127.0.0.1:9999/v1/batch' }), {
    code: 'FST_TELEMETRY_INVALID_OPTION',
    message: /option "path" must be a path on "host" itself.*resolves to http:\/\/127\.0\.0\.1:9999\/v1\/batch/
  })
})
