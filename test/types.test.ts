// Type tests: `tsc -p tsconfig.test.json` (part of `npm test`) fails if an `@ts-expect-error` line below compiles,
// or if a correct usage does not. Each line also runs, so the runtime agrees with the types.
import Fastify from 'fastify'
import t, { test } from 'tap'
import fastifyTelemetry, {
  mergeReport, splitReport, type FeatureCounter, type FeatureOptions, type TelemetryDecorator, type TelemetryOptions,
  type TelemetrySnapshot, type TypedFeatures, type WireBatch, type WireEvent
} from '../lib/index'
import { summarize } from '../lib/counters'
import { GcObserver, memoryRecord } from '../lib/memory'
import { useEnv } from './helpers/env'

useEnv(t)

/** `true` only when A and B are the same type (not merely assignable). */
type Equal<A, B> = (<T>() => T extends A ? 1 : 2) extends (<T>() => T extends B ? 1 : 2) ? true : false

const VALID = { writeKey: 'key', issuerUrl: 'https://auth.example.com/', endpoints: ['/clients'] }
const INVALID = { code: 'FST_TELEMETRY_INVALID_OPTION' }
const UNKNOWN = { code: 'FST_TELEMETRY_UNKNOWN_OPTION' }

test('every option, fully typed, registers', async t => {
  const options: TelemetryOptions = {
    writeKey: 'key',
    issuerUrl: 'https://auth.example.com/',
    endpoints: ['/clients'] as const,
    hashKey: 'secret',
    enabled: true,
    host: 'http://127.0.0.1:9',
    path: '/v1/batch',
    version: '1.0.0',
    hash: 'abc123',
    buildTime: '2024-01-01T00:00:00Z',
    identifyAfter: 900_000,
    reportInterval: 900_000,
    keepAliveInterval: 300_000,
    flushTimeout: 5000,
    health: { url: '/health', metrics: true, onRequest: async () => {}, logLevel: 'warn', schema: { tags: ['ops'] } },
    dryRun: true
  }
  const app = Fastify()
  t.teardown(() => app.close())
  await app.register(fastifyTelemetry, options)
  await app.ready()
  t.equal(app.telemetry.enabled, true)
})

test('fastify.telemetry is typed by declaration merging, its ids as string | null', async t => {
  const app = Fastify()
  t.teardown(() => app.close())
  await app.register(fastifyTelemetry, { enabled: false })
  const decorator: TelemetryDecorator = app.telemetry
  const clusterIdType: Equal<typeof app.telemetry.clusterId, string | null> = true
  const instanceIdType: Equal<typeof app.telemetry.instanceId, string | null> = true
  const snapshotType: Equal<ReturnType<typeof app.telemetry.snapshot>, TelemetrySnapshot | null> = true
  t.ok(clusterIdType && instanceIdType && snapshotType)
  t.equal(decorator.clusterId, null)
})

test('features are typed: fact(name, value), counter(name).inc(n?), and the option\'s shape', async t => {
  const app = Fastify()
  t.teardown(() => app.close())
  await app.register(fastifyTelemetry, { enabled: false, features: { facts: { storage: ['sql'] as const }, counters: ['exports'] as const } })
  const counterType: Equal<ReturnType<typeof app.telemetry.counter>, FeatureCounter> = true
  const factType: Equal<typeof app.telemetry.fact, (name: string, value: string) => void> = true
  app.telemetry.fact('storage', 'sql')
  app.telemetry.counter('exports').inc()
  app.telemetry.counter('exports').inc(2)
  // @ts-expect-error a fact's value is a string (any other value is reported as other)
  app.telemetry.fact('storage', 1)
  // @ts-expect-error inc counts a number of uses
  app.telemetry.counter('exports').inc('2')
  // @ts-expect-error counters is a list of names
  await t.rejects(async () => await Fastify().register(fastifyTelemetry, { enabled: false, features: { counters: 'exports' } }), INVALID)
  // @ts-expect-error a fact lists its values
  await t.rejects(async () => await Fastify().register(fastifyTelemetry, { enabled: false, features: { facts: { storage: 'sql' } } }), INVALID)
  const options: FeatureOptions = { facts: { storage: ['sql'] } }
  t.ok(counterType && factType && options.facts !== undefined)
})

test('TypedFeatures<typeof features> gives fact() and counter() the declared names as literal types', async t => {
  const features = { facts: { storage: ['postgres', 'sqlite'], 'auth.mode': ['jwt'] }, counters: ['exports', 'webhooks.sent'] } as const satisfies FeatureOptions
  const app = Fastify()
  t.teardown(() => app.close())
  await app.register(fastifyTelemetry, { enabled: false, features })
  const telemetry: TypedFeatures<typeof features> = app.telemetry
  telemetry.fact('storage', 'sqlite')
  telemetry.fact('auth.mode', process.env.AUTH_MODE ?? 'jwt')
  telemetry.counter('webhooks.sent').inc()
  // @ts-expect-error not a declared fact
  t.throws(() => telemetry.fact('Storage', 'sqlite'), { code: 'FST_TELEMETRY_UNKNOWN_FEATURE' })
  // @ts-expect-error a counter is no fact
  t.throws(() => telemetry.fact('exports', 'x'), { code: 'FST_TELEMETRY_UNKNOWN_FEATURE' })
  // @ts-expect-error not a declared counter
  t.throws(() => telemetry.counter('export'), { code: 'FST_TELEMETRY_UNKNOWN_FEATURE' })
  // @ts-expect-error a fact's value is a string
  telemetry.fact('storage', 1)
  const values: Equal<Parameters<typeof telemetry.fact<'storage'>>[1], 'postgres' | 'sqlite' | (string & {})> = true
  const counters: Equal<Parameters<typeof telemetry.counter>[0], 'exports' | 'webhooks.sent'> = true
  const onlyCounters: Equal<Parameters<TypedFeatures<{ counters: readonly ['a'] }>['fact']>[0], never> = true
  t.ok(values && counters && onlyCounters)
})

test('fastify.telemetry.preview() is typed by declaration merging: the bodies that would be posted, an array even while off', async t => {
  const app = Fastify()
  t.teardown(() => app.close())
  await app.register(fastifyTelemetry, { ...VALID, dryRun: true })
  await app.ready()
  const previewType: Equal<ReturnType<typeof app.telemetry.preview>, WireBatch[]> = true
  const [body] = app.telemetry.preview()
  const event: WireEvent | undefined = body?.batch[0]
  const redacted: Equal<WireBatch['writeKey'], '[redacted]'> = true
  t.ok(previewType && redacted)
  t.equal(event?.event, 'telemetry')
})

test('a route config accepts telemetry: false, typed by declaration merging', async t => {
  const app = Fastify()
  t.teardown(() => app.close())
  await app.register(fastifyTelemetry, { ...VALID, dryRun: true })
  app.get('/private', { config: { telemetry: false } }, async () => 'private')
  // @ts-expect-error the opt-out is a boolean
  app.get('/typo', { config: { telemetry: 'no' } }, async () => 'typo')
  await app.ready()
  await app.inject('/private')
  t.equal(app.telemetry.snapshot()?.requests, 0)
})

test('options the types reject are rejected at runtime too', async t => {
  // @ts-expect-error milliseconds are numbers
  await t.rejects(async () => await Fastify().register(fastifyTelemetry, { ...VALID, reportInterval: '5' }), INVALID)
  // @ts-expect-error a misspelt option name is caught by the excess-property check
  await t.rejects(async () => await Fastify().register(fastifyTelemetry, { ...VALID, reportIntervl: 5 }), UNKNOWN)
  // @ts-expect-error health.url is a path string
  await t.rejects(async () => await Fastify().register(fastifyTelemetry, { ...VALID, health: { url: 1 } }), INVALID)
  // @ts-expect-error endpoints is an array of paths
  await t.rejects(async () => await Fastify().register(fastifyTelemetry, { ...VALID, endpoints: '/x' }), INVALID)
})

test('a misspelt option in a variable escapes the type check unless declared with satisfies, but never the runtime check', async t => {
  const loose = { ...VALID, reportIntervl: 5 }
  await t.rejects(async () => await Fastify().register(fastifyTelemetry, loose), UNKNOWN)
  // @ts-expect-error `satisfies TelemetryOptions` restores the excess-property check
  const checked = { ...VALID, reportIntervl: 5 } satisfies TelemetryOptions
  await t.rejects(async () => await Fastify().register(fastifyTelemetry, checked), UNKNOWN)
})

test('health.logLevel takes only log level names, health.schema only an object', async t => {
  // @ts-expect-error: not a log level
  const loud: TelemetryOptions = { ...VALID, health: { logLevel: 'loud' } }
  // @ts-expect-error: a schema is an object
  const hidden: TelemetryOptions = { ...VALID, health: { schema: 'hide' } }
  for (const options of [loud, hidden]) {
    const app = Fastify()
    t.teardown(() => app.close())
    await t.rejects(async () => { await app.register(fastifyTelemetry, options) }, INVALID)
  }
})

test('mergeReport takes the parts splitReport makes and gives back a snapshot', async t => {
  const merged = mergeReport(splitReport({ ...summarize(new Map()), instanceId: 'i', schemaVersion: 2, uptime: 0, memory: memoryRecord(new GcObserver()), facts: {}, features: {} }))
  const typed: Equal<typeof merged, TelemetrySnapshot> = true
  t.ok(typed)
  t.equal(merged.instanceId, 'i')
})
