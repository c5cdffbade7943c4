import { EventEmitter, once } from 'node:events'
import { METHODS } from 'node:http'
import { connect } from 'node:net'
import { Readable } from 'node:stream'
import fc from 'fast-check'
import Fastify, { type FastifyInstance, type InjectOptions } from 'fastify'
import t, { test, type Test } from 'tap'
import fastifyTelemetry from '../lib/index'
import { addRoutes, ENDPOINTS } from './helpers/app'
import { useEnv } from './helpers/env'
import { LEVEL, LogSink } from './helpers/log-sink'
import { settle, watchProcessFailures } from './helpers/process-failures'
import { exchange, pipeline, rawRequest, statusCodes } from './helpers/raw-http'
import { fastCheckSeed } from './helpers/secrets'
import { quietOptions, requestsByPath, snapshotOf } from './helpers/snapshot'

useEnv(t)

const SEED = fastCheckSeed()
const ALLOWED = [...ENDPOINTS, '/empty', '/not-modified', '/stream']

/**
 * A listening app with default Fastify limits (16 KB of headers, 100-character parameters), telemetry on (nothing
 * is ever sent), its logs from `warn` up, and three hooks registered after the plugin's: they run after it and
 * tell the test what reached the hooks (`request`, `response`, `abort` events; `seen` counts them).
 */
async function startApp (t: Test): Promise<{ app: FastifyInstance, port: number, logs: LogSink, probe: EventEmitter, seen: Record<'requests' | 'responses' | 'aborts', number> }> {
  const logs = new LogSink()
  const app = Fastify({ logger: { level: 'warn', stream: logs.stream } })
  t.teardown(() => app.close())
  await app.register(fastifyTelemetry, quietOptions(ALLOWED))
  const probe = new EventEmitter()
  const seen = { requests: 0, responses: 0, aborts: 0 }
  app.addHook('onRequest', (request, reply, done) => { seen.requests++; probe.emit('request'); done() })
  app.addHook('onResponse', (request, reply, done) => { seen.responses++; probe.emit('response'); done() })
  app.addHook('onRequestAbort', (request, done) => { seen.aborts++; probe.emit('abort'); done() })
  addRoutes(app)
  app.get('/empty', async (request, reply) => reply.code(204).send())
  app.get('/not-modified', async (request, reply) => reply.code(304).send())
  app.get('/stream', async () => Readable.from(['a', 'b', 'c']))
  // Answers only when the test lets it, so that a client can give up while the handler runs.
  app.get('/slow', async () => {
    await new Promise(resolve => probe.emit('handler', resolve))
    return 'late'
  })
  await app.listen({ port: 0, host: '127.0.0.1' })
  const { port } = app.server.address() as { port: number }
  return { app, port, logs, probe, seen }
}

function totals (app: FastifyInstance): { requests: number, responses: number, aborted: number } {
  const { requests, responses, aborted } = snapshotOf(app)
  return { requests, responses, aborted }
}

const close = { connection: 'close' }
const json = { 'content-type': 'application/json' }

/** Requests Fastify (or Node's HTTP parser under it) turns away before any hook runs. */
const REJECTED: Array<{ what: string, raw: Buffer, status: number | null }> = [
  { what: 'bad % escape in a parameter: GET /clients/%zz', raw: rawRequest('GET', '/clients/%zz', close), status: 400 },
  { what: 'bad % escape in an unmatched path: GET /%zz/x', raw: rawRequest('GET', '/%zz/x', close), status: 400 },
  { what: 'escapes of bytes that are not UTF-8: GET /clients/%ff%fe', raw: rawRequest('GET', '/clients/%ff%fe', close), status: 400 },
  { what: 'raw bytes that are not UTF-8 in the target', raw: rawRequest('GET', Buffer.from([0x2f, 0xff, 0xfe, 0xc3]), close), status: 400 },
  { what: 'a space in the target: GET /a b', raw: rawRequest('GET', '/a b', close), status: 400 },
  { what: 'a NUL byte in the target', raw: rawRequest('GET', '/clients\0', close), status: 400 },
  { what: 'a method unknown to Node: FOO /clients', raw: rawRequest('FOO', '/clients', close), status: 400 },
  { what: 'a lower-case method: get /clients', raw: rawRequest('get', '/clients', close), status: 400 },
  { what: 'a target without a path: GET ?a=1', raw: rawRequest('GET', '?a=1', close), status: 400 },
  { what: 'HTTP/1.1 without a Host header', raw: Buffer.from('GET /clients HTTP/1.1\r\nconnection: close\r\n\r\n'), status: 400 },
  { what: 'not HTTP at all', raw: Buffer.from('HELLO\r\n\r\n'), status: 400 },
  { what: 'a parameter over maxParamLength (101 characters)', raw: rawRequest('GET', `/clients/${'a'.repeat(101)}`, close), status: 414 },
  { what: 'a 20 KB request line', raw: rawRequest('GET', `/${'a'.repeat(20_000)}`, close), status: 431 },
  { what: 'a 20 KB header', raw: rawRequest('GET', '/clients', { ...close, 'x-big': 'a'.repeat(20_000) }), status: 431 },
  { what: 'CONNECT evil.example:443 (no listener: the socket is closed)', raw: rawRequest('CONNECT', 'evil.example:443'), status: null }
]

/** Odd requests that reach routing: counted, under the endpoint the anonymizer gives them. */
const COUNTED: Array<{ what: string, raw: Buffer, status: number, endpoint: string, method: string }> = [
  { what: '`//` runs: GET //clients//x', raw: rawRequest('GET', '//clients//x', close), status: 404, endpoint: '/', method: 'GET' },
  { what: 'asterisk-form: OPTIONS *', raw: rawRequest('OPTIONS', '*', close), status: 404, endpoint: '/', method: 'OPTIONS' },
  { what: 'asterisk-form: GET *', raw: rawRequest('GET', '*', close), status: 404, endpoint: '/', method: 'GET' },
  { what: 'absolute-form: GET http://evil.example/clients/1', raw: rawRequest('GET', 'http://evil.example/clients/1', close), status: 200, endpoint: '/clients', method: 'GET' },
  { what: 'a WebDAV method: PROPFIND /clients', raw: rawRequest('PROPFIND', '/clients', close), status: 404, endpoint: '/', method: 'OTHER' },
  { what: 'QUERY without a content type', raw: rawRequest('QUERY', '/clients', close), status: 400, endpoint: '/', method: 'OTHER' },
  { what: 'an 8 KB path of 4 000 segments', raw: rawRequest('GET', `/${'a/'.repeat(4000)}`, close), status: 404, endpoint: '/', method: 'GET' },
  { what: 'a parameter of exactly maxParamLength (100 characters)', raw: rawRequest('GET', `/clients/${'a'.repeat(100)}`, close), status: 200, endpoint: '/clients', method: 'GET' },
  { what: 'UTF-8 escapes in a parameter: GET /clients/%E6%BC%A2', raw: rawRequest('GET', '/clients/%E6%BC%A2', close), status: 200, endpoint: '/clients', method: 'GET' },
  { what: 'bad escapes in the query only: GET /clients?x=%ff%zz', raw: rawRequest('GET', '/clients?x=%ff%zz', close), status: 200, endpoint: '/clients', method: 'GET' },
  { what: 'a fragment in the target: GET /clients#x', raw: rawRequest('GET', '/clients#x', close), status: 200, endpoint: '/clients', method: 'GET' },
  { what: 'a semicolon: GET /clients;x=1', raw: rawRequest('GET', '/clients;x=1', close), status: 404, endpoint: '/', method: 'GET' },
  { what: 'dot segments under a wildcard: GET /files/../../etc/passwd', raw: rawRequest('GET', '/files/../../etc/passwd', close), status: 200, endpoint: '/files', method: 'GET' },
  { what: 'a regex parameter that does not match: GET /numbers/abc', raw: rawRequest('GET', '/numbers/abc', close), status: 404, endpoint: '/', method: 'GET' },
  { what: 'HEAD of a GET route', raw: rawRequest('HEAD', '/clients', close), status: 200, endpoint: '/clients', method: 'HEAD' },
  { what: 'OPTIONS without a route', raw: rawRequest('OPTIONS', '/clients', close), status: 404, endpoint: '/', method: 'OPTIONS' },
  { what: 'HTTP/1.0 without Host', raw: Buffer.from('GET /clients HTTP/1.0\r\n\r\n'), status: 200, endpoint: '/clients', method: 'GET' },
  { what: 'a chunked body (no content-length)', raw: rawRequest('POST', '/oauth2/token', { ...close, ...json, 'transfer-encoding': 'chunked' }, '2\r\n{}\r\n0\r\n\r\n'), status: 200, endpoint: '/oauth2/token', method: 'POST' },
  { what: 'a JSON body that does not parse', raw: rawRequest('POST', '/oauth2/token', { ...close, ...json, 'content-length': '1' }, '{'), status: 400, endpoint: '/oauth2/token', method: 'POST' },
  { what: 'an unknown content type', raw: rawRequest('POST', '/oauth2/token', { ...close, 'content-type': 'x/y', 'content-length': '1' }, 'x'), status: 415, endpoint: '/oauth2/token', method: 'POST' },
  { what: 'a declared body over bodyLimit (2 MB)', raw: rawRequest('POST', '/oauth2/token', { ...close, ...json, 'content-length': '2000000' }), status: 413, endpoint: '/oauth2/token', method: 'POST' },
  { what: 'a 204 answer', raw: rawRequest('GET', '/empty', close), status: 204, endpoint: '/empty', method: 'GET' },
  { what: 'a 304 answer', raw: rawRequest('GET', '/not-modified', close), status: 304, endpoint: '/not-modified', method: 'GET' },
  { what: 'a streamed answer without content-length', raw: rawRequest('GET', '/stream', close), status: 200, endpoint: '/stream', method: 'GET' }
]

test('requests Fastify turns away before any hook runs are not counted anywhere', async t => {
  const { app, port, seen } = await startApp(t)
  for (const { what, raw, status } of REJECTED) {
    const before = totals(app)
    const answer = await exchange(port, raw)
    t.same(statusCodes(answer).slice(0, 1), status === null ? [] : [status], `${what}: answered ${status ?? 'nothing'}`)
    t.same(totals(app), before, `${what}: not counted`)
  }
  t.equal(seen.requests, 0, 'no hook ran for any of them')
})

test('odd requests that reach routing are counted once, under the endpoint the anonymizer gives them', async t => {
  const { app, port, probe } = await startApp(t)
  for (const { what, raw, status, endpoint, method } of COUNTED) {
    const before = requestsByPath(app)
    const statusBefore = snapshotOf(app).status[status] ?? 0
    const responded = once(probe, 'response')
    t.same(statusCodes(await exchange(port, raw)), [status], `${what}: answered ${status}`)
    await responded
    const expected = { ...before, [endpoint]: { ...before[endpoint], [method]: (before[endpoint]?.[method] ?? 0) + 1 } }
    t.same(requestsByPath(app), expected, `${what}: counted under ${endpoint} ${method}`)
    t.equal(snapshotOf(app).status[status], statusBefore + 1, `${what}: status ${status} counted`)
  }
  const { paths, size } = snapshotOf(app)
  t.same(paths['/empty'].size.buckets[0] + paths['/not-modified'].size.buckets[0], 2, '204 and 304 count as 0 bytes')
  t.equal(size.unknown, 1, 'only the stream has an unknown size')
})

test('a request the client abandons counts as a request and an abort, never as a response', async t => {
  const { app, port, probe } = await startApp(t)
  const before = totals(app)
  const rounds = 100
  for (let round = 0; round < rounds; round++) {
    // While the handler runs.
    const waiting = connect(port, '127.0.0.1')
    const handler = once(probe, 'handler') as Promise<[() => void]>
    waiting.write(rawRequest('GET', '/slow'))
    const [release] = await handler
    const aborted = once(probe, 'abort')
    waiting.destroy()
    await aborted
    release()
    // Halfway through the request body.
    const uploading = connect(port, '127.0.0.1')
    const received = once(probe, 'request')
    uploading.write(rawRequest('POST', '/oauth2/token', { ...json, 'content-length': '1000' }, '{"a":'))
    await received
    const abortedUpload = once(probe, 'abort')
    uploading.destroy()
    await abortedUpload
    // Before the headers are complete: there is no request yet.
    const early = connect(port, '127.0.0.1')
    await new Promise(resolve => early.write('GET /clients HTTP/1.1\r\nhost: localhost\r\n', resolve))
    early.destroy()
    await once(early, 'close')
  }
  const after = totals(app)
  t.same({ requests: after.requests - before.requests, responses: after.responses - before.responses, aborted: after.aborted - before.aborted },
    { requests: 2 * rounds, responses: 0, aborted: 2 * rounds }, `${2 * rounds} aborted requests counted, ${rounds} half-sent heads ignored`)
})

/** One generated odd request. `counted` is what the tables above establish for its kind. */
interface Odd {
  kind: string
  counted: boolean
  raw?: Buffer
  inject?: InjectOptions
}

const id = fc.stringMatching(/^[A-Za-z0-9_-]{1,20}$/)
const slashes = fc.integer({ min: 1, max: 6 }).map(n => '/'.repeat(n))
const EXTENSION_METHODS = ['PROPFIND', 'PROPPATCH', 'MKCOL', 'COPY', 'MOVE', 'LOCK', 'UNLOCK', 'SEARCH', 'PURGE', 'REPORT', 'TRACE', 'LINK', 'UNLINK', 'M-SEARCH']
const extensionMethod = fc.constantFrom(...EXTENSION_METHODS)
const badEscape = fc.constantFrom('%', '%z', '%zz', '%G0', '%ff', '%C3%28', '%E2%82', '%ed%a0%80')
const unicode = fc.string({ unit: 'grapheme-composite', minLength: 1, maxLength: 6 })
const longPath = fc.integer({ min: 200, max: 1500 }).map(n => `/${'seg/'.repeat(n)}`)

/** Targets every way of sending accepts, each with whether it gets counted. */
function commonShapes (request: (method: string, target: string) => Odd['raw'] | InjectOptions, counted: (raw: Odd['raw'] | InjectOptions) => Odd): Array<fc.Arbitrary<Odd>> {
  return [
    fc.tuple(slashes, slashes, id).map(([a, b, x]) => counted(request('GET', `${a}clients${b}${x}`))),
    fc.constantFrom('GET', 'OPTIONS').map(method => counted(request(method, '*'))),
    id.map(x => counted(request('GET', `http://evil.example/clients/${x}`))),
    fc.tuple(extensionMethod, id).map(([method, x]) => counted(request(method, `/clients/${x}`))),
    fc.tuple(fc.constantFrom('HEAD', 'OPTIONS'), fc.constantFrom('/clients', '/clients/1', '/files/a/b', '/nope')).map(([method, path]) => counted(request(method, path))),
    fc.array(badEscape, { minLength: 1, maxLength: 5 }).map(escapes => counted(request('GET', `/clients?q=${escapes.join('')}`))),
    unicode.map(text => counted(request('GET', `/clients/${encodeURIComponent(text)}`))),
    id.map(x => counted(request('GET', `/files/..%2F..%2F${x}/../..`))),
    fc.constantFrom('/empty', '/not-modified', '/stream', '/numbers/12', '/numbers/x').map(path => counted(request('GET', path)))
  ]
}

function socketOdd (kind: string, counted: boolean, raw: Buffer): Odd {
  return { kind, counted, raw }
}

/** Raw requests for real sockets. Counted ones are pipelined; rejected ones close their connection. */
const socketRequest: fc.Arbitrary<Odd> = fc.oneof(
  ...commonShapes((method, target) => rawRequest(method, target), raw => socketOdd('counted', true, raw as Buffer)),
  longPath.map(path => socketOdd('long path', true, rawRequest('GET', path))),
  id.map(x => socketOdd('chunked body', true, rawRequest('POST', '/oauth2/token', { ...json, 'transfer-encoding': 'chunked' }, `${(x.length + 8).toString(16)}\r\n{"a":"${x}"}\r\n0\r\n\r\n`))),
  fc.array(badEscape, { minLength: 1, maxLength: 4 }).map(escapes => socketOdd('bad escape', false, rawRequest('GET', `/clients/${escapes.join('')}`, close))),
  fc.uint8Array({ minLength: 1, maxLength: 16 }).map(bytes => socketOdd('non-UTF-8 bytes', false, rawRequest('GET', Buffer.concat([Buffer.from('/clients/'), Buffer.from(bytes.map(byte => byte | 0x80))]), close))),
  fc.stringMatching(/^[A-Z]{3,10}$/).filter(method => !METHODS.includes(method))
    .map(method => socketOdd('unknown method', false, rawRequest(method, '/clients', close))),
  fc.integer({ min: 101, max: 2000 }).map(n => socketOdd('long parameter', false, rawRequest('GET', `/clients/${'p'.repeat(n)}`, close))),
  fc.integer({ min: 17_000, max: 40_000 }).map(n => socketOdd('huge request line', false, rawRequest('GET', `/${'x'.repeat(n)}`, close)))
)

function injectOdd (options: InjectOptions, counted = true): Odd {
  return { kind: 'inject', counted, inject: options }
}

/** The same shapes through `inject`, which has no header limit and passes raw Unicode and streamed payloads. */
const injectRequest: fc.Arbitrary<Odd> = fc.oneof(
  ...commonShapes((method, url) => ({ method: method as 'GET', url }), options => injectOdd(options as InjectOptions)),
  fc.integer({ min: 1000, max: 20_000 }).map(n => injectOdd({ url: `/${'seg/'.repeat(n)}` })),
  // Raw, unescaped: fine, unless a `%` makes an invalid escape (then it is turned away, as in the table).
  unicode.filter(text => !text.includes('%')).map(text => injectOdd({ url: `/clients/${text}` })),
  id.map(x => injectOdd({ method: 'POST', url: '/oauth2/token', headers: json, payload: Readable.from([`{"a":"${x}"}`]) })),
  fc.array(badEscape, { minLength: 1, maxLength: 4 }).map(escapes => injectOdd({ url: `/clients/${escapes.join('')}` }, false)),
  fc.integer({ min: 101, max: 5000 }).map(n => injectOdd({ url: `/files/${'p'.repeat(n)}` })),
  fc.integer({ min: 101, max: 5000 }).map(n => injectOdd({ url: `/clients/${'p'.repeat(n)}` }, false))
)

test('10 000+ odd requests over sockets and through inject: the plugin never fails, and counts exactly what reaches the hooks', async t => {
  const failures = watchProcessFailures(t)
  const { app, port, logs, probe, seen } = await startApp(t)
  const sockets = fc.sample(socketRequest, { seed: SEED, numRuns: 6000 })
  const injected = fc.sample(injectRequest, { seed: SEED, numRuns: 4500 })
  const observed = new Map<number, number>()
  const note = (status: number): void => { observed.set(status, (observed.get(status) ?? 0) + 1) }
  const wrong: string[] = []

  // Counted requests, pipelined 100 to a connection, four connections at a time.
  const pipelined = sockets.filter(odd => odd.counted).map(odd => odd.raw as Buffer)
  for (let start = 0; start < pipelined.length; start += 400) {
    await Promise.all([0, 100, 200, 300].map(async offset => {
      const batch = pipelined.slice(start + offset, start + offset + 100)
      if (batch.length === 0) return
      const statuses = await pipeline(port, batch)
      if (statuses.length !== batch.length) wrong.push(`pipeline of ${batch.length} got ${statuses.length} answers`)
      statuses.forEach(note)
    }))
  }
  // Rejected requests, one connection each: the server closes it after answering.
  for (const odd of sockets.filter(odd => !odd.counted)) {
    const [status] = statusCodes(await exchange(port, odd.raw as Buffer))
    if (![400, 414, 431].includes(status)) wrong.push(`${odd.kind} answered ${status}`)
  }
  for (let start = 0; start < injected.length; start += 50) {
    const responses = await Promise.all(injected.slice(start, start + 50).map(async odd => ({ odd, response: await app.inject(odd.inject as InjectOptions) })))
    for (const { odd, response } of responses) {
      if (odd.counted) note(response.statusCode)
      else if (![400, 414].includes(response.statusCode)) wrong.push(`inject ${odd.inject?.url} answered ${response.statusCode}`)
    }
  }

  // Every request that reached the hooks gets its answer counted once the answer is sent: wait for the last ones.
  while (seen.responses < seen.requests) await once(probe, 'response')
  const counted = pipelined.length + injected.filter(odd => odd.counted).length
  const snapshot = snapshotOf(app)
  t.same(wrong, [], 'every answer as documented')
  t.equal(seen.requests, counted, 'the hooks saw exactly the requests the tables say reach routing')
  t.equal(snapshot.requests, counted, 'every one counted once')
  t.equal(snapshot.responses, counted, 'every response counted once')
  t.same(snapshot.status, Object.fromEntries(observed), 'the status counts are the statuses clients received')
  t.notOk(observed.has(500), 'no 500: no hook threw')
  t.same(logs.lines.filter(line => line.level >= LEVEL.warn), [], 'nothing logged at warn or above')
  await settle()
  t.same(failures, [], 'no unhandled rejection or uncaught exception')
  t.same(Object.keys(snapshot.paths).filter(path => !app.telemetry.endpoints.includes(path)), [], 'every path is allow-listed')
  t.comment(`hostile: ${sockets.length + injected.length} odd requests (${sockets.length} over sockets, ${injected.length} ` +
    `through inject); ${counted} reached the hooks and were counted, ${sockets.length + injected.length - counted} turned ` +
    `away by Fastify before any hook and not counted; statuses ${JSON.stringify(snapshot.status)}; 0 plugin errors ` +
    `(fast-check seed ${SEED})`)
})
