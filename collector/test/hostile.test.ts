import { once } from 'node:events'
import { connect } from 'node:net'
import { setFlagsFromString } from 'node:v8'
import { runInNewContext } from 'node:vm'
import { deflateSync, gzipSync } from 'node:zlib'
import fc from 'fast-check'
import { test } from 'tap'
import { serveConfig, startServer } from '../lib/serve'
import { AUTH, KEY, collectorApp, post } from './helpers/collector'
import { batch, keepAlive } from './helpers/events'

setFlagsFromString('--expose-gc')
const gc = runInNewContext('gc') as () => void

/** `mayBeValid`: a mutation that can leave a valid event (the same value put back), which may get its 200. */
interface Hostile { body: string | Buffer, headers: Record<string, string | undefined>, url: string, mayBeValid?: boolean }

const json = (value: unknown): string => JSON.stringify(value)
const auth = fc.constantFrom<Record<string, string | undefined>>({}, { authorization: undefined }, { authorization: 'Basic Og==' }, { authorization: 'Basic !!!' }, { authorization: `Bearer ${KEY}` })
const url = fc.constantFrom('/v1/batch', '/v1/track', '/v1/identify')

/** Bodies a hostile or broken sender makes; none is a valid batch. */
const hostile: fc.Arbitrary<Hostile> = fc.oneof(
  // Not JSON, or JSON of any shape.
  fc.record({ body: fc.string({ maxLength: 200 }), headers: fc.constant({}), url }),
  fc.record({ body: fc.jsonValue().map(json), headers: fc.constant({}), url }),
  // Batches of arbitrary values, and of valid events with one field replaced by anything.
  fc.record({ body: fc.array(fc.jsonValue(), { minLength: 1, maxLength: 5 }).map(events => batch(events)), headers: fc.constant({}), url: fc.constant('/v1/batch') }),
  fc.record({
    body: fc.tuple(fc.constantFrom('type', 'event', 'anonymousId', 'properties', 'context', 'messageId', 'timestamp', '_metadata', 'integrations', 'extra'), fc.jsonValue())
      .map(([field, value]) => batch([keepAlive(), { ...keepAlive(), [field]: value }])),
    headers: fc.constant({}),
    url: fc.constant('/v1/batch'),
    mayBeValid: fc.constant(true)
  }),
  // Deep nesting, huge numbers, huge strings.
  fc.record({ body: fc.integer({ min: 1000, max: 200_000 }).map(depth => `{"batch":[${'['.repeat(depth)}${']'.repeat(depth)}]}`), headers: fc.constant({}), url: fc.constant('/v1/batch') }),
  fc.record({ body: fc.constantFrom('1e999999', '-'.repeat(10) + '9'.repeat(5000), `{"batch":[{"n":${'9'.repeat(100_000)}}]}`), headers: fc.constant({}), url }),
  fc.record({ body: fc.integer({ min: 30_000, max: 600_000 }).map(n => batch([keepAlive({ pad: 'x'.repeat(n) })])), headers: fc.constant({}), url: fc.constant('/v1/batch') }),
  // Bad gzip and deflate, bombs, wrong encodings and content types, missing or wrong auth.
  fc.record({ body: fc.uint8Array({ maxLength: 300 }).map(bytes => Buffer.from(bytes)), headers: fc.constantFrom({ 'content-encoding': 'gzip' }, { 'content-encoding': 'deflate' }), url }),
  fc.record({ body: fc.integer({ min: 1, max: 8 }).map(mb => gzipSync(Buffer.alloc(mb * 2 ** 20, '{'))), headers: fc.constant({ 'content-encoding': 'gzip' }), url }),
  fc.record({ body: fc.constant(deflateSync(Buffer.alloc(4 * 2 ** 20, ' '))), headers: fc.constant({ 'content-encoding': 'deflate' }), url }),
  fc.record({ body: fc.constant(batch([keepAlive()])), headers: fc.record({ 'content-type': fc.constantFrom('text/plain', 'application/x-www-form-urlencoded', 'multipart/form-data') }), url }),
  fc.record({ body: fc.constant(batch([keepAlive()])), headers: fc.record({ 'content-encoding': fc.constantFrom('br', 'compress', 'gzip, gzip') }), url }),
  fc.record({ body: fc.constant(batch([keepAlive()])), headers: auth.filter(h => Object.keys(h).length > 0), url })
)

test('10 000 hostile bodies: only 4xx, no 5xx, no crash, memory flat', async t => {
  const { app } = await collectorApp(t, { dedupEntries: 1000 })
  const statuses = new Map<number, number>()
  let heapAfterWarmup = 0
  let runs = 0
  await fc.assert(fc.asyncProperty(hostile, async ({ body, headers, url, mayBeValid }) => {
    const res = await post(app, body, headers, url)
    statuses.set(res.statusCode, (statuses.get(res.statusCode) ?? 0) + 1)
    if (++runs === 2000) {
      gc()
      heapAfterWarmup = process.memoryUsage().heapUsed
    }
    return (res.statusCode >= 400 && res.statusCode < 500) || (mayBeValid === true && res.statusCode === 200)
  }), { numRuns: 10_000 })
  gc()
  const growth = process.memoryUsage().heapUsed - heapAfterWarmup
  t.equal(runs, 10_000)
  t.same([...statuses.keys()].filter(status => status >= 500), [], `statuses: ${JSON.stringify(Object.fromEntries(statuses))}`)
  t.ok(growth < 16 * 2 ** 20, `heap grew ${(growth / 2 ** 20).toFixed(1)} MiB over the last 8 000 bodies`)
  t.equal((await app.inject('/health')).statusCode, 200, 'still serving')
})

test('slow bodies against serve\'s request timeout: each gets a 408, serve keeps serving', async t => {
  const running = await startServer(serveConfig(['--data', t.testdir(), '--write-key', KEY, '--port', '0', '--request-timeout', '500']))
  t.teardown(running.close)
  const { port } = running.app.server.address() as { port: number }
  const slow = async (stopAfter: number): Promise<string> => {
    const socket = connect(port, '127.0.0.1')
    await once(socket, 'connect')
    const head = `POST /v1/batch HTTP/1.1\r\nhost: x\r\nauthorization: ${AUTH}\r\ncontent-type: application/json\r\ncontent-length: 100000\r\n\r\n`
    socket.write(head.slice(0, stopAfter))
    const chunks: Buffer[] = []
    socket.on('data', chunk => chunks.push(chunk))
    await once(socket, 'close')
    return Buffer.concat(chunks).toString()
  }
  // Stalled in the request line, in the headers, and in the body.
  const answers = await Promise.all([5, 40, 1000].map(slow))
  for (const answer of answers) t.match(answer, /^HTTP\/1\.1 408 Request Timeout/)
  const res = await fetch(`${running.url}/v1/batch`, { method: 'POST', body: batch([keepAlive()]), headers: { authorization: AUTH, 'content-type': 'application/json' } })
  t.equal(res.status, 200)
})
