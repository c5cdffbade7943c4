import { createHash } from 'node:crypto'
import fc from 'fast-check'
import { test } from 'tap'
import { PassThrough } from 'node:stream'
import { defaultSourceId } from '../lib/index'
import { serveConfig, startServer } from '../lib/serve'
import { UNKNOWN_KEYS_NAMED, WARN_EVERY_MS } from '../lib/unknown-keys'
import { KEY, listeningCollector } from './helpers/collector'
import { batch, keepAlive } from './helpers/events'

const NOON = Date.parse('2026-12-07T12:00:00Z')
const WARN = 40
const hashOf = (key: string): string => createHash('sha256').update(key).digest('hex').slice(0, 8)
const basic = (key: string): string => `Basic ${Buffer.from(`${key}:`).toString('base64')}`

/** A collector with two configured keys and a clock the test moves. */
async function collector (t: Parameters<typeof listeningCollector>[0]): Promise<Awaited<ReturnType<typeof listeningCollector>> & { at: (ms: number) => void, warnings: () => Array<Record<string, any>> }> {
  let clock = NOON
  const running = await listeningCollector(t, { writeKeys: [KEY, { writeKey: 'second-key', sourceId: 'my-app' }], now: () => clock })
  return { ...running, at: ms => { clock = NOON + ms }, warnings: () => running.logged.filter(line => line.level === WARN) }
}

/** One batch over HTTP with `key` in the Basic header (or in the body, or no key at all); the status code. */
async function send (url: string, key: string | undefined, via: 'header' | 'body' = 'header'): Promise<number> {
  const headers: Record<string, string> = { 'content-type': 'application/json' }
  if (key !== undefined && via === 'header') headers.authorization = basic(key)
  const res = await fetch(`${url}/v1/batch`, { method: 'POST', headers, body: batch([keepAlive()], key !== undefined && via === 'body' ? { writeKey: key } : {}) })
  await res.arrayBuffer()
  return res.status
}

async function health (url: string): Promise<Record<string, any>> {
  return await (await fetch(`${url}/health`)).json() as Record<string, any>
}

test('the first refusal of an unknown key is a warn line naming its short hash and the source ids, never the key', async t => {
  const { url, logged, warnings } = await collector(t)
  const key = 'wrong-key-from-an-old-release'
  t.equal(await send(url, key), 401)
  t.match(warnings(), [{
    keyHash: hashOf(key),
    refused: 1,
    total: 1,
    sourceIds: [defaultSourceId(KEY), 'my-app'].sort(),
    msg: `write key ${hashOf(key)} (SHA-256 prefix) is not configured: request refused; the configured source ids are ${[defaultSourceId(KEY), 'my-app'].sort().join(', ')}`
  }])
  t.equal(warnings().length, 1)
  const log = JSON.stringify(logged)
  t.notOk(log.includes(key) || log.includes(basic(key).slice(6)), 'neither the key nor its Basic encoding is logged')
  const counts = await health(url)
  t.same(counts.unknownKeys, { byHash: { [hashOf(key)]: 1 }, others: 0 })
  t.same(counts.rejected, { FST_TELEMETRY_COLLECTOR_UNAUTHORIZED: 1 })
  t.notOk(JSON.stringify(counts).includes(key), '/health does not hold the key')
})

test('no key a sender presents, in the header or the body, reaches the log or /health', async t => {
  const { url, at, logged } = await collector(t)
  let minute = 0
  const key = fc.string({ minLength: 16, maxLength: 64, unit: 'binary' }).filter(k => !k.includes(':'))
  await fc.assert(fc.asyncProperty(key, fc.constantFrom('header' as const, 'body' as const), async (secret, via) => {
    at(++minute * WARN_EVERY_MS)
    await send(url, secret, via)
    await send(url, secret, via)
    const leaks = JSON.stringify(logged) + JSON.stringify(await health(url))
    return ![secret, JSON.stringify(secret).slice(1, -1), Buffer.from(`${secret}:`).toString('base64')].some(form => leaks.includes(form))
  }), { numRuns: 40 })
})

test('a key already warned about is warned about again at most once a minute, with the count since its last line', async t => {
  const { url, at, warnings } = await collector(t)
  const key = 'wrong-key'
  await send(url, key)
  at(1000)
  await send(url, key)
  at(WARN_EVERY_MS - 1)
  await send(url, key)
  t.equal(warnings().length, 1, 'nothing more within the minute')
  at(WARN_EVERY_MS)
  await send(url, key)
  t.equal(warnings().length, 2)
  t.match(warnings()[1], { keyHash: hashOf(key), refused: 3, total: 4, msg: /^write key \w{8} \(SHA-256 prefix\) is not configured: 3 more requests refused in the last 60 s \(4 in all\); the configured source ids are / })
  at(WARN_EVERY_MS + 1)
  await send(url, key)
  t.equal(warnings().length, 2, 'the minute starts again at the last line')
  t.same((await health(url)).unknownKeys.byHash, { [hashOf(key)]: 5 })
})

test('each key has its own minute: another key is warned about at once', async t => {
  const { url, at, warnings } = await collector(t)
  await send(url, 'first-wrong-key')
  at(10)
  await send(url, 'other-wrong-key')
  t.same(warnings().map(line => line.keyHash), [hashOf('first-wrong-key'), hashOf('other-wrong-key')])
})

test('a key in the body is the same key as in the Basic header', async t => {
  const { url, warnings } = await collector(t)
  t.equal(await send(url, 'wrong-key', 'body'), 401)
  t.equal(await send(url, 'wrong-key', 'header'), 401)
  t.equal(warnings().length, 1)
  t.same((await health(url)).unknownKeys, { byHash: { [hashOf('wrong-key')]: 2 }, others: 0 })
})

test('a request with no key, or a header that holds none, is refused without a warning', async t => {
  const { url, warnings } = await collector(t)
  t.equal(await send(url, undefined), 401)
  const res = await fetch(`${url}/v1/batch`, { method: 'POST', headers: { 'content-type': 'application/json', authorization: `Bearer ${KEY}` }, body: batch([keepAlive()]) })
  t.equal(res.status, 401)
  t.same(warnings(), [])
  const counts = await health(url)
  t.same(counts.unknownKeys, { byHash: {}, others: 0 })
  t.same(counts.rejected, { FST_TELEMETRY_COLLECTOR_UNAUTHORIZED: 2 })
})

test(`only ${UNKNOWN_KEYS_NAMED} distinct keys are named; refusals of further keys are counted and warned about together`, async t => {
  const { url, at, warnings } = await collector(t)
  const statuses = []
  for (let i = 0; i < UNKNOWN_KEYS_NAMED + 2; i++) statuses.push(await send(url, `sprayed-key-${i}`))
  t.ok(statuses.every(status => status === 401))
  const lines = warnings()
  t.equal(lines.length, UNKNOWN_KEYS_NAMED + 1, 'one line per named key, and one for the keys beyond them')
  t.match(lines[UNKNOWN_KEYS_NAMED], { refused: 1, total: 1, msg: `write keys beyond the first ${UNKNOWN_KEYS_NAMED} unknown ones (counted together) are not configured: request refused` })
  t.notOk('keyHash' in lines[UNKNOWN_KEYS_NAMED], 'no hash names them')
  at(WARN_EVERY_MS)
  await send(url, 'yet-another-key')
  await send(url, 'sprayed-key-0')
  t.match(warnings().slice(-2), [
    { refused: 2, total: 3, msg: `write keys beyond the first ${UNKNOWN_KEYS_NAMED} unknown ones (counted together) are not configured: 2 more requests refused in the last 60 s (3 in all)` },
    { keyHash: hashOf('sprayed-key-0'), refused: 1, total: 2 }
  ])
  const counts = (await health(url)).unknownKeys
  t.equal(Object.keys(counts.byHash).length, UNKNOWN_KEYS_NAMED)
  t.equal(counts.byHash[hashOf('sprayed-key-0')], 2)
  t.equal(counts.others, 3)
})

test('at close, the refusals after each key\'s last line are logged; a key with none gets no line', async t => {
  const { app, url, at, warnings } = await collector(t)
  await send(url, 'counted-twice')
  at(5000)
  await send(url, 'counted-twice')
  await send(url, 'counted-once')
  await app.close()
  t.equal(warnings().length, 3)
  t.match(warnings()[2], { keyHash: hashOf('counted-twice'), refused: 1, total: 2, msg: /: 1 more request refused in the last 5 s \(2 in all\)/ })
})

test('serve prints the warning at its default log level', async t => {
  const log = new PassThrough()
  let printed = ''
  log.on('data', chunk => { printed += String(chunk) })
  const running = await startServer(serveConfig(['--data', t.testdir(), '--write-key', `${KEY}=my-app`, '--port', '0']), log)
  t.teardown(running.close)
  t.equal(await send(running.url, 'wrong-key'), 401)
  t.match(JSON.parse(printed), { level: WARN, keyHash: hashOf('wrong-key'), sourceIds: ['my-app'] })
})
