import { createHash } from 'node:crypto'
import fc from 'fast-check'
import Fastify, { type FastifyInstance } from 'fastify'
import t, { test, type Test } from 'tap'
import { Client } from 'undici'
import fastifyTelemetry, { type TelemetryOptions } from '../lib/index'
import { addRoutes, buildApp, ENDPOINTS, FAST, telemetryOptions } from './helpers/app'
import { Collector } from './helpers/collector'
import { useEnv } from './helpers/env'
import { LogSink } from './helpers/log-sink'
import {
  encodedSegment, fastCheckSeed, findLeaks, headerName, headerValue, jsonUnescaped, percentDecoded, secret,
  SECRET_MARKER, typedSegment
} from './helpers/secrets'

useEnv(t)

const SEED = fastCheckSeed()
/** Generated requests per run; the issue asks for at least 1 000. */
const RUNS = Number(process.env.FC_RUNS ?? 1200)

/** Where a generated request goes: one target per kind of route the anonymizer must handle. */
const ROUTES = ['static', 'param', 'multi', 'wildcard', 'regex', 'notFound', 'prefixed', 'prefixedStatic', 'optOut'] as const
type RouteKind = typeof ROUTES[number]

const SECRET_SLOTS = [
  'path', 'tail', 'queryKey', 'queryValue', 'authorization', 'cookie', 'host', 'forwardedFor', 'headerName',
  'headerValue', 'bodyKey', 'bodyValue', 'address'
] as const

interface SecretRequest {
  /** A real socket to the listening app, or `inject` (the only way to choose the client address). */
  via: 'socket' | 'inject'
  route: RouteKind
  method: string
  /** Path segments as a user might type them (escapes kept, some invalid) rather than exactly encoded. */
  typed: boolean
  body: 'json' | 'raw' | 'none'
  secrets: Record<typeof SECRET_SLOTS[number], string>
}

const secretRequest: fc.Arbitrary<SecretRequest> = fc.record({
  via: fc.constantFrom('socket', 'inject'),
  route: fc.constantFrom(...ROUTES),
  method: fc.constantFrom('GET', 'HEAD', 'POST', 'PUT', 'DELETE', 'PATCH', 'OPTIONS', 'PROPFIND'),
  // Typed paths hold invalid escapes more often than not, which Fastify rejects before any hook: keep them a minority.
  typed: fc.oneof({ arbitrary: fc.constant(false), weight: 3 }, { arbitrary: fc.constant(true), weight: 1 }),
  body: fc.constantFrom('json', 'raw', 'none'),
  secrets: fc.record(Object.fromEntries(SECRET_SLOTS.map(slot => [slot, secret])) as Record<typeof SECRET_SLOTS[number], fc.Arbitrary<string>>)
})

function targetOf ({ route, typed, secrets }: SecretRequest): string {
  const segment = typed ? typedSegment : encodedSegment
  const query = `?${segment(secrets.queryKey)}=${segment(secrets.queryValue)}`
  const path = segment(secrets.path)
  const tail = segment(secrets.tail)
  const paths: Record<RouteKind, string> = {
    static: '/clients',
    param: `/clients/${path}`,
    multi: `/clients/${path}/secret`,
    wildcard: `/files/${path}/${tail}`,
    regex: `/numbers/${path}`,
    notFound: `/${path}/${tail}`,
    prefixed: `/${path}/users/${tail}`,
    prefixedStatic: `/api/v1/things/${path}`,
    optOut: '/private'
  }
  return paths[route] + query
}

function headersOf ({ secrets }: SecretRequest): Record<string, string> {
  return {
    authorization: `Bearer ${headerValue(secrets.authorization)}`,
    cookie: `session=${headerValue(secrets.cookie)}`,
    host: headerName(secrets.host),
    'x-forwarded-for': headerValue(secrets.forwardedFor),
    [`x-${headerName(secrets.headerName)}`]: headerValue(secrets.headerValue)
  }
}

function bodyOf ({ method, body, secrets }: SecretRequest): { payload?: string, contentType?: string } {
  if (body === 'none' || !['POST', 'PUT', 'PATCH'].includes(method)) return {}
  if (body === 'raw') return { payload: secrets.bodyValue, contentType: 'text/plain; charset=utf-8' }
  return { payload: JSON.stringify({ [secrets.bodyKey]: secrets.bodyValue, nested: [secrets.bodyValue] }), contentType: 'application/json' }
}

/**
 * A real, listening app with every kind of route: static, parametric, multi-method, wildcard, regex and opt-out
 * (from the shared helper), a `/:tenant` prefix and a static `/api/v1` prefix. `trustProxy` makes
 * `x-forwarded-for` the client address. `hooked()` counts the requests that reached `onRequest` on a counted
 * route: what the plugin must have counted, so the test knows the secrets went through its hooks.
 */
async function startPrivacyApp (t: Test, collector: Collector, extra: TelemetryOptions): Promise<{ app: FastifyInstance, hooked: () => number }> {
  const app = Fastify({ trustProxy: true, routerOptions: { maxParamLength: 10_000 } })
  t.teardown(() => app.close())
  await app.register(fastifyTelemetry, telemetryOptions(collector, { endpoints: [...ENDPOINTS, '/api/v1/things'], ...extra }))
  let hooked = 0
  app.addHook('onRequest', async request => {
    if (request.routeOptions.config.telemetry !== false) hooked++
  })
  addRoutes(app)
  await app.register(async tenant => {
    tenant.get('/users/:id', async request => ({ seen: request.params }))
    tenant.post('/users', async request => ({ seen: request.body }))
  }, { prefix: '/:tenant' })
  await app.register(async api => {
    api.get('/things', async () => [])
    api.route({ method: ['GET', 'POST', 'PUT'], url: '/things/:id', handler: async request => ({ seen: request.params }) })
  }, { prefix: '/api/v1' })
  await app.listen({ port: 0, host: '127.0.0.1' })
  return { app, hooked: () => hooked }
}

test('the leak detector finds a secret in every form a leak could take', async t => {
  const [value] = fc.sample(secret, { seed: SEED, numRuns: 1 })
  const tail = value.slice(SECRET_MARKER.length)
  const disguises = {
    'as is': JSON.stringify({ path: value }),
    'JSON-escaped': JSON.stringify({ path: value }).replace(/[^\x20-\x7e]/g, char => `\\u${char.charCodeAt(0).toString(16).padStart(4, '0')}`),
    'percent-encoded': `{"path":"${encodeURIComponent(value)}"}`,
    'percent-decoded': `{"path":${JSON.stringify(percentDecoded(value))}}`,
    'upper-cased': `{"path":${JSON.stringify(value.toUpperCase())}}`,
    'without its marker': `{"path":${JSON.stringify(tail)}}`,
    'only the marker': '{"path":"s3cr3t_"}'
  }
  for (const [name, bytes] of Object.entries(disguises)) {
    t.not(findLeaks([value], bytes).length, 0, `found ${name}`)
  }
  t.equal(jsonUnescaped('\\u00e9\\"\\/'), 'é"/')
  t.same(findLeaks([value], JSON.stringify({ clusterId: createHash('sha512').update(value).digest('hex') })), [],
    'a hash of a secret is not a leak')
})

test(`${RUNS} generated requests full of secrets: not one byte of a secret reaches the collector`, async t => {
  const collector = await Collector.start()
  t.teardown(() => collector.close())
  const issuerSecret = fc.sample(secret, { seed: SEED, numRuns: 1 })[0]
  const issuerUrl = `https://auth.example.com/${encodedSegment(issuerSecret)}`
  const { app, hooked } = await startPrivacyApp(t, collector, { issuerUrl })
  const { port } = app.server.address() as { port: number }
  const client = new Client(`http://127.0.0.1:${port}`)
  t.teardown(() => client.close())

  const secrets = new Set<string>([issuerSecret])
  const sent = { socket: 0, inject: 0 }
  const statuses = new Map<number, number>()
  await fc.assert(fc.asyncProperty(secretRequest, async request => {
    for (const value of Object.values(request.secrets)) secrets.add(value)
    const { payload, contentType } = bodyOf(request)
    const headers = { ...headersOf(request), ...(contentType === undefined ? {} : { 'content-type': contentType }) }
    let statusCode: number
    if (request.via === 'inject') {
      const response = await app.inject({
        method: request.method as 'GET', url: targetOf(request), headers, payload, remoteAddress: request.secrets.address
      })
      statusCode = response.statusCode
    } else {
      const response = await client.request({ method: request.method, path: targetOf(request), headers, body: payload })
      await response.body.dump()
      statusCode = response.statusCode
    }
    sent[request.via]++
    statuses.set(statusCode, (statuses.get(statusCode) ?? 0) + 1)
    // A 500 would mean a hook threw; telemetry must never cost the host a request.
    return statusCode < 500
  }), { seed: SEED, numRuns: RUNS })

  // The whole life of an instance: identify, reports and keep-alives have run during the traffic ...
  await collector.waitForEvents('identify')
  await collector.waitForEvents('keep-alive')
  const endpoints = app.telemetry.endpoints
  const reportsBeforeClose = collector.named('telemetry').length
  // ... and the final report goes out on close.
  await app.close()
  const reports = collector.named('telemetry')
  t.ok(reports.length > reportsBeforeClose, 'a final report arrived on close')
  t.equal(Math.max(...reports.map(report => report.properties?.requests as number)), hooked(),
    'the final report counts every request that reached a counted route: the secrets went through the hooks')

  t.ok(collector.events.every(event => event.context.ip === '0.0.0.0'), 'every event has context.ip 0.0.0.0')
  const reported = new Set(reports.flatMap(report => Object.keys(report.properties?.paths as object)))
  t.same([...reported].filter(path => !endpoints.includes(path)), [], 'every paths key is in fastify.telemetry.endpoints')

  const bytes = collector.wireBytes
  const leaks = findLeaks(secrets, bytes)
  t.same(leaks, [], 'no secret in any byte the collector received')
  t.notOk(bytes.includes(issuerUrl) || percentDecoded(jsonUnescaped(bytes)).includes(percentDecoded(issuerUrl)),
    'the issuer URL never appears in clear')

  t.comment(`privacy: ${sent.socket + sent.inject} generated requests (${sent.socket} over sockets, ${sent.inject} through ` +
    `inject), ${hooked()} counted, statuses ${JSON.stringify(Object.fromEntries(statuses))}; ${secrets.size} secrets; ` +
    `${collector.events.length} events, ${collector.requests} collector requests, ${Buffer.byteLength(bytes)} bytes ` +
    `searched; leaks: ${leaks.length} (fast-check seed ${SEED})`)
})

test('with hashKey the cluster id is not the plain SHA-512 of the issuer URL, and it survives a restart', async t => {
  const collector = await Collector.start()
  t.teardown(() => collector.close())
  const [hashKey] = fc.sample(secret, { seed: SEED + 1, numRuns: 1 })
  const issuerUrl = 'https://auth.example.com/'
  const lives: Array<{ clusterId: string | null, instanceId: string | null }> = []
  for (const life of [1, 2]) {
    const app = await buildApp(telemetryOptions(collector, { issuerUrl, hashKey }))
    t.teardown(() => app.close())
    await collector.waitForEvents('identify', life)
    lives.push({ clusterId: app.telemetry.clusterId, instanceId: app.telemetry.instanceId })
    await app.close()
  }
  const [first, second] = lives
  t.not(first.clusterId, createHash('sha512').update(issuerUrl).digest('hex'), 'not the SHA-512 anyone could recompute')
  t.equal(second.clusterId, first.clusterId, 'the same cluster id after a restart')
  t.not(second.instanceId, first.instanceId, 'a new instance id on every start')
  t.same([...new Set(collector.events.map(event => event.anonymousId))], [first.clusterId], 'every event carries it')
  t.same(findLeaks([hashKey], collector.wireBytes), [], 'the hash key never leaves the process')
})

test('the dry-run log never contains the write key', async t => {
  const [writeKey] = fc.sample(secret, { seed: SEED + 2, numRuns: 1 })
  const logs = new LogSink()
  const app = Fastify({ logger: { level: 'trace', stream: logs.stream } })
  t.teardown(() => app.close())
  await app.register(fastifyTelemetry, { writeKey, issuerUrl: 'https://auth.example.com/', endpoints: ENDPOINTS, dryRun: true, ...FAST })
  addRoutes(app)
  // Telemetry timers never keep a process alive; a listening server does, as in production.
  await app.listen({ port: 0, host: '127.0.0.1' })
  await app.inject('/clients/1')
  await logs.waitFor('dry run, not sent: identify')
  await logs.waitFor('dry run, not sent: keep-alive')
  const reports = logs.matching('dry run, not sent: telemetry').length
  await app.close()
  t.ok(logs.matching('dry run, not sent: telemetry').length > reports, 'the final report was logged too')
  const basicAuth = Buffer.from(`${writeKey}:`).toString('base64')
  t.same(findLeaks([writeKey, basicAuth], logs.text), [], 'neither the write key nor its Basic auth form is logged')
})
