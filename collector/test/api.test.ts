import { rmSync, writeFileSync } from 'node:fs'
import { join } from 'node:path'
import { deflateSync, gzipSync } from 'node:zlib'
import Fastify from 'fastify'
import { test } from 'tap'
import telemetryCollector, { defaultSourceId, listFiles, MAX_BATCH_EVENTS } from '../lib/index'
import { Schemas } from '../lib/schemas'
import { AUTH, KEY, asSent, collectorApp, post, stored } from './helpers/collector'
import { batch, keepAlive } from './helpers/events'

test('a valid batch is answered 200 and stored as sent, plus receivedAt and sentAt', async t => {
  const { app, dataDir } = await collectorApp(t)
  const events = [keepAlive(), keepAlive()]
  const sentAt = '2026-12-01T10:00:00.123Z'
  const res = await post(app, batch(events, { sentAt, writeKey: KEY }))
  t.equal(res.statusCode, 200)
  t.same(res.json(), { success: true })
  const { events: lines } = await stored(dataDir)
  t.same(lines.map(asSent), events)
  t.equal(lines[0].sentAt, sentAt)
  t.ok(Date.parse(lines[0].receivedAt) <= Date.now())
  t.notOk('writeKey' in lines[0], 'the write key is not stored')
})

test('events are stored under the source id, by default a short hash of the key, in the received day', async t => {
  const { app, dataDir } = await collectorApp(t, { writeKeys: [KEY, { writeKey: 'other', sourceId: 'my-source' }] })
  await post(app, batch([keepAlive()]))
  await post(app, batch([keepAlive()]), { authorization: `Basic ${Buffer.from('other:').toString('base64')}` })
  const files = await listFiles(dataDir)
  const day = Date.now() - (Date.now() % 86_400_000)
  t.same(files.map(f => [f.sourceId, f.receivedDay]), [['my-source', day], [defaultSourceId(KEY), day]].sort())
  t.match(defaultSourceId(KEY), /^[0-9a-f]{16}$/)
  t.notOk(files.some(f => f.file.includes(KEY)), 'no path holds the key')
})

test('without sentAt the stored sentAt is receivedAt', async t => {
  const { app, dataDir } = await collectorApp(t)
  await post(app, JSON.stringify({ batch: [keepAlive()] }))
  const [line] = (await stored(dataDir)).events
  t.equal(line.sentAt, line.receivedAt)
})

test('the write key may come in the body instead of Basic auth', async t => {
  const { app, dataDir } = await collectorApp(t)
  t.equal((await post(app, batch([keepAlive()], { writeKey: KEY }), { authorization: '' })).statusCode, 401, 'an empty header is a wrong key')
  const res = await app.inject({ method: 'POST', url: '/v1/batch', headers: { 'content-type': 'application/json' }, payload: batch([keepAlive()], { writeKey: KEY }) })
  t.equal(res.statusCode, 200)
  t.equal((await stored(dataDir)).events.length, 1)
})

test('a missing or wrong write key is a 401 and nothing is stored', async t => {
  const { app, dataDir } = await collectorApp(t)
  const body = batch([keepAlive()])
  const cases: Array<[string, Record<string, string | undefined>, string]> = [
    ['no key at all', { authorization: undefined }, body],
    ['a wrong Basic user', { authorization: `Basic ${Buffer.from('nope:').toString('base64')}` }, body],
    ['Basic without a colon', { authorization: `Basic ${Buffer.from(KEY).toString('base64')}` }, body],
    ['another scheme', { authorization: `Bearer ${KEY}` }, body],
    ['a wrong body key', { authorization: undefined }, batch([keepAlive()], { writeKey: 'nope' })]
  ]
  for (const [name, headers, payload] of cases) {
    const res = await post(app, payload, headers)
    t.equal(res.statusCode, 401, name)
    t.equal(res.json().code, 'FST_TELEMETRY_COLLECTOR_UNAUTHORIZED', name)
  }
  t.same((await stored(dataDir)).events, [])
  t.equal((await app.inject('/health')).json().rejected.FST_TELEMETRY_COLLECTOR_UNAUTHORIZED, cases.length)
})

test('/v1/identify and /v1/track take one event; the path gives a missing type', async t => {
  const { app, dataDir } = await collectorApp(t)
  const { type: _type, ...untyped } = keepAlive()
  t.equal((await post(app, JSON.stringify({ ...untyped, writeKey: KEY, sentAt: '2026-12-01T00:00:00Z' }), {}, '/v1/track')).statusCode, 200)
  const typed = keepAlive()
  t.equal((await post(app, JSON.stringify(typed), {}, '/v1/track')).statusCode, 200)
  const wrong = await post(app, JSON.stringify(keepAlive()), {}, '/v1/identify')
  t.equal(wrong.statusCode, 400)
  t.match(wrong.json().error, 'an event sent to /v1/identify must have type "identify"')
  const { events } = await stored(dataDir)
  t.same(events.map(asSent), [{ type: 'track', ...untyped }, typed])
  t.equal(events[0].sentAt, '2026-12-01T00:00:00.000Z')
})

test('gzip and deflate bodies are accepted', async t => {
  const { app, dataDir } = await collectorApp(t)
  t.equal((await post(app, gzipSync(batch([keepAlive()])), { 'content-encoding': 'gzip' })).statusCode, 200)
  t.equal((await post(app, gzipSync(batch([keepAlive()])), { 'content-encoding': 'x-gzip' })).statusCode, 200)
  t.equal((await post(app, deflateSync(batch([keepAlive()])), { 'content-encoding': 'Deflate' })).statusCode, 200)
  t.equal((await post(app, batch([keepAlive()]), { 'content-encoding': 'identity' })).statusCode, 200)
  t.equal((await stored(dataDir)).events.length, 4)
})

/** Posts and returns status and error code; every refusal must store nothing. */
async function refusal (app: Awaited<ReturnType<typeof collectorApp>>['app'], payload: string | Buffer, headers: Record<string, string | undefined> = {}): Promise<[number, string, string]> {
  const res = await post(app, payload, headers)
  return [res.statusCode, res.json().code, res.json().error]
}

test('limits: a body or decompressed body over 500 KB, an event over 32 KB, more than 2 500 events are 400s naming the limit', async t => {
  const { app, dataDir } = await collectorApp(t)
  const big = 'x'.repeat(600 * 1024)
  t.match(await refusal(app, batch([keepAlive({ big })])), [400, 'FST_TELEMETRY_COLLECTOR_OVER_LIMIT', /500 KB/])
  // A bomb: 100 MB of zeros gzip to about 100 KB.
  const bomb = gzipSync(Buffer.alloc(100 * 2 ** 20))
  t.ok(bomb.length < 500 * 1024)
  t.match(await refusal(app, bomb, { 'content-encoding': 'gzip' }), [400, 'FST_TELEMETRY_COLLECTOR_OVER_LIMIT', /decompressed body is over the batch limit/])
  t.match(await refusal(app, batch([keepAlive(), keepAlive({ pad: 'y'.repeat(33 * 1024) })])), [400, 'FST_TELEMETRY_COLLECTOR_OVER_LIMIT', /^batch\[1\]: event of \d+ bytes; the limit is 32768/])
  const many = JSON.stringify({ batch: Array.from({ length: MAX_BATCH_EVENTS + 1 }, () => ({})) })
  t.match(await refusal(app, many), [400, 'FST_TELEMETRY_COLLECTOR_OVER_LIMIT', /2501 events; the limit is 2500/])
  t.same((await stored(dataDir)).events, [])
})

test('bad bodies are 400s that say why, and the whole batch is refused', async t => {
  const { app, dataDir } = await collectorApp(t)
  const good = keepAlive()
  const cases: Array<[string | Buffer, Record<string, string | undefined>, RegExp]> = [
    ['{"batch": [', {}, /not valid JSON/],
    [Buffer.from([0x7b, 0xff, 0x7d]), {}, /not valid UTF-8/],
    [batch([good]), { 'content-type': 'text/plain' }, /Content-Type must be application\/json/],
    [batch([good]), { 'content-encoding': 'br' }, /unsupported Content-Encoding "br"/],
    [Buffer.from('not gzip'), { 'content-encoding': 'gzip' }, /not valid gzip data/],
    ['[]', {}, /must be a JSON object/],
    ['{"batch": []}', {}, /non-empty array/],
    ['{"batch": {}}', {}, /non-empty array/],
    [batch([good], { context: {} }), {}, /unsupported batch field "context"/],
    [batch([good], { sentAt: 'yesterday' }), {}, /sentAt must be an ISO 8601/],
    [batch([good], { sentAt: '2026-13-45T99:00:00Z' }), {}, /sentAt must be an ISO 8601/],
    [batch([good], { writeKey: 42 }), {}, /writeKey must be a string/],
    [batch([good, 'x']), {}, /^batch\[1\]: an event must be a JSON object/],
    [batch([good, { ...good, type: 'page' }]), {}, /^batch\[1\]: type must be "identify" or "track"/],
    [batch([{ ...good, anonymousId: '' }]), {}, /anonymousId or userId is required/],
    [batch([{ ...good, event: undefined }]), {}, /a track needs an event name/],
    [batch([{ ...good, messageId: 7 }]), {}, /messageId is required/],
    [batch([{ ...good, properties: { instanceId: 'x' } }]), {}, /properties.schemaVersion must be a positive integer/],
    [batch([{ type: 'identify', userId: 'u', messageId: 'm', traits: { schemaVersion: 0 } }]), {}, /traits.schemaVersion must be a positive integer/],
    [batch([{ type: 'identify', userId: 'u', messageId: 'm' }]), {}, /traits.schemaVersion must be a positive integer/],
    [batch([{ ...good, event: 'page-view' }]), {}, /^batch\[0\] \(page-view, schemaVersion 1\): no schema for "page-view" at schemaVersion 1/],
    [batch([{ ...good, extra: 1 }]), {}, /^batch\[0\] \(keep-alive, schemaVersion 1\): the event must NOT have additional properties \(extra\)/],
    [batch([{ ...good, context: { ip: '10.1.2.3', library: (good.context as { library: unknown }).library } }]), {}, /\/context\/ip must be equal to constant/]
  ]
  for (const [payload, headers, error] of cases) {
    const [status, , message] = await refusal(app, payload, headers)
    t.equal(status, 400, String(error))
    t.match(message, error)
  }
  const empty = await app.inject({ method: 'POST', url: '/v1/batch', headers: { authorization: AUTH } })
  t.equal(empty.statusCode, 400, 'no body at all')
  t.same((await stored(dataDir)).events, [])
})

test('an event nested too deeply to serialise is a 400', async t => {
  const { app } = await collectorApp(t)
  // Inside 500 KB, but deeper than V8's stack allows JSON.stringify to go.
  const depth = 200_000
  const deep = '{"type":"track","x":' + '['.repeat(depth) + ']'.repeat(depth) + '}'
  const res = await post(app, `{"batch":[${deep}]}`)
  t.equal(res.statusCode, 400)
  t.match(res.json().error, /nested too deeply|event of \d+ bytes/)
})

test('an event of an unknown schemaVersion is stored unchecked and counted', async t => {
  const { app, dataDir } = await collectorApp(t)
  const future = keepAlive({ properties: { schemaVersion: 99, somethingNew: true }, writeKey: 'leaked', receivedAt: 'forged' })
  t.equal((await post(app, batch([future, keepAlive()]))).statusCode, 200)
  const { events } = await stored(dataDir)
  t.same(events[0].properties, { schemaVersion: 99, somethingNew: true })
  t.notOk('writeKey' in events[0], 'a write key inside an event is not stored either')
  t.not(events[0].receivedAt, 'forged')
  const health = (await app.inject('/health')).json()
  t.same(health.unknownSchemaVersions, { 99: 1 })
  t.equal(health.accepted, 2)
})

test('a resent messageId is answered 200 and stored once; the bound is the dedupEntries most recent', async t => {
  const { app, dataDir } = await collectorApp(t, { dedupEntries: 2 })
  const [a, b, c] = [keepAlive(), keepAlive(), keepAlive()]
  t.equal((await post(app, batch([a, a]))).statusCode, 200, 'a duplicate inside one batch')
  t.equal((await post(app, batch([a]))).statusCode, 200, 'a resent batch')
  await post(app, batch([b]))
  await post(app, batch([a]))
  await post(app, batch([c]))
  // b is now the least recently seen of the two remembered (a, c): forgotten, so its resend is stored again.
  await post(app, batch([b]))
  const ids = (await stored(dataDir)).events.map(e => e.messageId)
  t.same(ids, [a.messageId, b.messageId, c.messageId, b.messageId])
  const health = (await app.inject('/health')).json()
  t.equal(health.duplicates, 3)
  t.same(health.dedup, { entries: 2, capacity: 2 })
})

test('with dedupEntries 0 nothing is remembered', async t => {
  const { app, dataDir } = await collectorApp(t, { dedupEntries: 0 })
  const a = keepAlive()
  await post(app, batch([a]))
  await post(app, batch([a]))
  t.equal((await stored(dataDir)).events.length, 2)
})

test('the same messageId from two sources is two events', async t => {
  const { app, dataDir } = await collectorApp(t, { writeKeys: [KEY, 'other'] })
  const a = keepAlive()
  await post(app, batch([a]))
  await post(app, batch([a], { writeKey: 'other' }), { authorization: undefined })
  t.equal((await stored(dataDir)).events.length, 2)
})

test('GET /health answers counts while the data dir is writable, 503 when it is not', async t => {
  const { app, dataDir } = await collectorApp(t)
  await post(app, batch([keepAlive()]))
  await post(app, '{')
  const ok = await app.inject('/health')
  t.equal(ok.statusCode, 200)
  t.match(ok.json(), {
    status: 'ok',
    batches: 1,
    accepted: 1,
    duplicates: 0,
    unknownSchemaVersions: {},
    rejected: { FST_TELEMETRY_COLLECTOR_BAD_BODY: 1 },
    storage: { commits: 1, fsyncs: 1, files: 1 },
    schemaVersions: [1]
  })
  // Root ignores permissions, so the directory goes away instead, replaced by a file.
  rmSync(dataDir, { recursive: true })
  writeFileSync(dataDir, 'not a directory')
  const down = await app.inject('/health')
  t.equal(down.statusCode, 503)
  t.equal(down.json().status, 'the data directory is not writable')
  const refused = await post(app, batch([keepAlive({ messageId: 'node-next-1-00000000-0000-4000-8000-000000000000' })]))
  t.equal(refused.statusCode, 200, 'the open file still takes batches')
  rmSync(dataDir)
})

test('a batch that cannot be stored is a 503 and is not remembered as seen', async t => {
  const dataDir = join(t.testdir(), 'data')
  const { app } = await collectorApp(t, { dataDir, maxFileBytes: 1024 })
  const a = keepAlive()
  rmSync(dataDir, { recursive: true })
  writeFileSync(dataDir, 'in the way')
  const res = await post(app, batch([a]))
  t.equal(res.statusCode, 503)
  t.equal(res.json().code, 'FST_TELEMETRY_COLLECTOR_NOT_STORED')
  rmSync(dataDir)
  // The directory is back: the resend must be stored, not taken for a duplicate.
  const { mkdirSync } = await import('node:fs')
  mkdirSync(join(dataDir, 'segment-logs'), { recursive: true })
  t.equal((await post(app, batch([a]))).statusCode, 200)
  t.equal((await stored(dataDir)).events.length, 1)
})

test('Fastify errors inside the routes become 400s; the collector answers only its routes', async t => {
  const { app } = await collectorApp(t)
  const badLength = await app.inject({ method: 'POST', url: '/v1/batch', headers: { authorization: AUTH, 'content-type': 'application/json', 'content-length': '5' }, payload: '{"batch":[]}' })
  t.equal(badLength.statusCode, 400)
  t.equal(badLength.json().code, 'FST_TELEMETRY_COLLECTOR_BAD_BODY')
  t.equal((await app.inject('/v1/other')).statusCode, 404)
  t.equal((await app.inject({ method: 'GET', url: '/v1/batch' })).statusCode, 404)
})

test('an internal error is a 500 that says nothing more and is logged', async t => {
  const { app } = await collectorApp(t)
  const original = Schemas.prototype.violation
  t.teardown(() => { Schemas.prototype.violation = original })
  Schemas.prototype.violation = () => { throw new Error('a bug') }
  const res = await post(app, batch([keepAlive()]))
  t.equal(res.statusCode, 500)
  t.same(res.json(), { success: false, code: 'FST_TELEMETRY_COLLECTOR_INTERNAL', error: 'internal error' })
})

test('the collector registers under a prefix and leaves the app\'s JSON parser alone', async t => {
  const app = Fastify()
  await app.register(telemetryCollector, { dataDir: t.testdir(), writeKeys: [KEY], prefix: '/telemetry' })
  app.post('/echo', async request => request.body)
  t.teardown(async () => await app.close())
  t.equal((await post(app, batch([keepAlive()]), {}, '/telemetry/v1/batch')).statusCode, 200)
  t.same((await app.inject({ method: 'POST', url: '/echo', payload: { a: 1 } })).json(), { a: 1 })
  t.equal(app.telemetryCollector.counts.accepted, 1)
})

test('a data dir that cannot be created is an option error naming dataDir', async t => {
  const file = join(t.testdir(), 'file')
  writeFileSync(file, '')
  const app = Fastify()
  await t.rejects(async () => { await app.register(telemetryCollector, { dataDir: join(file, 'sub'), writeKeys: [KEY] }).ready() }, { code: 'FST_TELEMETRY_COLLECTOR_INVALID_OPTION', message: /option "dataDir"/ })
})
