import { randomBytes } from 'node:crypto'
import { mkdirSync, writeFileSync } from 'node:fs'
import { join } from 'node:path'
import { gzipSync } from 'node:zlib'
import { test, type Test } from 'tap'
import { listFiles, readEvents, readMembers, type Member, type TornMember } from '../lib/reader'
import { member, ndjson } from './helpers/gzip'

async function read (file: string, fromOffset = 0): Promise<{ members: Member[], torn: TornMember[] }> {
  const torn: TornMember[] = []
  const members: Member[] = []
  for await (const m of readMembers(file, fromOffset, t => torn.push(t))) members.push(m)
  return { members, torn }
}

function fileOf (t: Test, ...members: Buffer[]): string {
  const file = join(t.testdir(), 'file.gz')
  writeFileSync(file, Buffer.concat(members))
  return file
}

const A = member(ndjson([{ n: 1 }, { n: 2 }]))
const B = member(ndjson([{ n: 3 }]))
const C = member(ndjson([{ n: 4 }, { n: 5 }, { n: 6 }]))

test('each gzip member is one Member with its byte range and its lines', async t => {
  const file = fileOf(t, A, B, C)
  const { members, torn } = await read(file)
  t.same(torn, [])
  t.same(members.map(m => [m.offset, m.end]), [[0, A.length], [A.length, A.length + B.length], [A.length + B.length, A.length + B.length + C.length]])
  t.same(members.map(m => m.lines), [['{"n":1}', '{"n":2}'], ['{"n":3}'], ['{"n":4}', '{"n":5}', '{"n":6}']])
  t.equal(members[0].file, file)
})

test('lines are UTF-8: a member with bytes beyond ASCII reads the same characters', async t => {
  const text = [{ path: '/café/ünïcode', note: 'snowman ☃ and 𝄞' }, { n: 1 }]
  const { members } = await read(fileOf(t, member(ndjson(text)), A))
  t.same(members.map(m => m.lines.map(line => JSON.parse(line))), [text, [{ n: 1 }, { n: 2 }]])
})

test('reading starts at any member boundary', async t => {
  const { members } = await read(fileOf(t, A, B, C), A.length + B.length)
  t.same(members.map(m => m.lines.length), [3])
})

test('a last line without a newline is still a line; an empty member has none', async t => {
  const { members } = await read(fileOf(t, member('{"a":1}\n{"b":2}'), member('')))
  t.same(members.map(m => m.lines), [['{"a":1}', '{"b":2}'], []])
})

test('a member cut short at the end of the file is reported as truncated, the members before it are read', async t => {
  for (const cut of [1, 5, 9, 12, B.length - 8, B.length - 1]) {
    const { members, torn } = await read(fileOf(t, A, B.subarray(0, cut)))
    t.same(members.map(m => m.offset), [0], `cut after ${cut} bytes`)
    t.same(torn.map(x => [x.offset, x.reason]), [[A.length, 'truncated']], `cut after ${cut} bytes`)
  }
})

function corrupt (buf: Buffer, at: number, value: number): Buffer {
  const copy = Buffer.from(buf)
  copy[at] = value
  return copy
}

test('a CRC mismatch tears the member, and nothing after it in the file is trusted', async t => {
  const bad = corrupt(B, B.length - 8, B[B.length - 8] ^ 0xff)
  const { members, torn } = await read(fileOf(t, A, bad, C))
  t.same(members.map(m => m.offset), [0])
  t.same(torn, [{ file: members[0].file, offset: A.length, reason: 'CRC mismatch' }])
})

test('an ISIZE mismatch tears the member', async t => {
  const { torn } = await read(fileOf(t, corrupt(A, A.length - 4, A[A.length - 4] ^ 1)))
  t.same(torn.map(x => x.reason), ['ISIZE mismatch'])
})

test('bad deflate data tears the member', async t => {
  // Block type 3 is reserved in RFC 1951.
  const { torn } = await read(fileOf(t, A, corrupt(B, 10, 0xff)))
  t.match(torn, [{ offset: A.length, reason: /^bad deflate data: / }])
})

test('bad gzip headers tear the member', async t => {
  const cases: Array<[Buffer, string]> = [
    [corrupt(A, 0, 0x50), 'bad header: not gzip'],
    [corrupt(A, 1, 0x50), 'bad header: not gzip'],
    [corrupt(A, 2, 7), 'bad header: compression method is not deflate'],
    [corrupt(A, 3, 0x20), 'bad header: reserved flag bits set'],
    [member('{"a":1}\n', { name: 'x', headerCrc: 0x1234 }), 'bad header: header CRC mismatch']
  ]
  for (const [buf, reason] of cases) t.same((await read(fileOf(t, buf))).torn.map(x => x.reason), [reason], reason)
})

test('optional header fields (FEXTRA, FNAME, FCOMMENT, FHCRC) are skipped', async t => {
  const full = member('{"a":1}\n', { extra: Buffer.from('ab\0cd'), name: 'events.json', comment: 'made by hand', headerCrc: true })
  const { members, torn } = await read(fileOf(t, full, member('{"b":2}\n', { name: '' }), A))
  t.same(torn, [])
  t.same(members.map(m => m.lines[0]), ['{"a":1}', '{"b":2}', '{"n":1}'])
})

test('a header cut inside an optional field is truncated', async t => {
  const full = member('{"a":1}\n', { extra: Buffer.from('abcd'), name: 'name', comment: 'comment', headerCrc: true })
  // 11: inside XLEN; 13: inside the extra field; 18: inside the name; 25: inside the comment; 27: inside FHCRC.
  for (const cut of [11, 13, 18, 25, 27]) t.same((await read(fileOf(t, full.subarray(0, cut)))).torn.map(x => x.reason), ['truncated'], `cut at ${cut}`)
  const extraOnly = member('{"a":1}\n', { extra: Buffer.from('abcd') })
  t.same((await read(fileOf(t, extraOnly.subarray(0, 14)))).torn.map(x => x.reason), ['truncated'], 'cut inside the extra field alone')
})

test('members longer than the read window are read whole, wherever the window ends', async t => {
  const big = member(randomBytes(3 << 20).toString('base64') + '\n', {}, 1)
  // A header longer than the window: a file name of 1.5 MB.
  const longHeader = member('{"h":1}\n', { name: 'n'.repeat(3 << 19) })
  const { members, torn } = await read(fileOf(t, A, big, longHeader, B))
  t.same(torn, [])
  t.same(members.map(m => m.end - m.offset), [A.length, big.length, longHeader.length, B.length])
})

test('a window that ends inside the trailer reads on', async t => {
  // A stored (level 0) member whose deflate data ends just before 1 MiB and whose trailer crosses it.
  const target = (1 << 20) + 4
  let length = target
  // Stored blocks cost 5 bytes per 64 KiB: converge on the length that gives the target size.
  for (let i = 0; i < 4; i++) length += target - member('y'.repeat(length), {}, 0).length
  const crossing = member('y'.repeat(length), {}, 0)
  t.equal(crossing.length, (1 << 20) + 4)
  const { members, torn } = await read(fileOf(t, crossing, B))
  t.same(torn, [])
  t.equal(members.length, 2)
})

test('an I/O error is thrown, not reported', async t => {
  await t.rejects(read(join(t.testdir(), 'missing.gz')), { code: 'ENOENT' })
})

function layout (t: Test): string {
  const dir = t.testdir()
  const put = (path: string, content: Buffer | string): void => {
    mkdirSync(join(dir, path, '..'), { recursive: true })
    writeFileSync(join(dir, path), content)
  }
  put('segment-logs/src-b/86400000/2.gz', member(ndjson([{ e: 'b1' }])))
  put('segment-logs/src-a/172800000/1.gz', member(ndjson([{ e: 'a3' }])))
  put('segment-logs/src-a/86400000/2.gz', member(ndjson([{ e: 'a2' }])))
  put('segment-logs/src-a/86400000/1.gz', Buffer.concat([member(ndjson([{ e: 'a1' }])), member('not json\n[1]\n{"e":"a1b"}\n')]))
  // Not Segment's: skipped.
  put('segment-logs/src-a/86400000/notes.txt', 'x')
  put('segment-logs/src-a/latest/1.gz', member(ndjson([{ e: 'x' }])))
  put('segment-logs/src-a/9000000000000/torn.gz', Buffer.concat([member(ndjson([{ e: 'a4' }])), B.subarray(0, 12)]))
  mkdirSync(join(dir, 'segment-logs/src-a/86400000/sub.gz'))
  return dir
}

test('listFiles sorts by source id, day (numerically) and file name', async t => {
  const dir = layout(t)
  const expected = [
    ['src-a', 86400000, '1.gz'], ['src-a', 86400000, '2.gz'], ['src-a', 172800000, '1.gz'], ['src-a', 9000000000000, 'torn.gz'],
    ['src-b', 86400000, '2.gz']
  ].map(([sourceId, day, name]) => ({ file: join(dir, 'segment-logs', String(sourceId), String(day), String(name)), sourceId, receivedDay: day }))
  t.same(await listFiles(dir), expected)
  t.same(await listFiles(join(dir, 'segment-logs')), expected, 'the segment-logs directory itself is accepted')
})

test('readEvents yields every intact event in file order and reports torn members and bad lines', async t => {
  const dir = layout(t)
  const torn: TornMember[] = []
  const events: unknown[] = []
  for await (const event of readEvents(dir, { onTorn: x => torn.push(x) })) events.push(event)
  t.same(events.map(e => (e as { e: string }).e), ['a1', 'a1b', 'a2', 'a3', 'a4', 'b1'])
  t.same(torn.map(x => x.reason), ['line 1 of the member is not a JSON object', 'line 2 of the member is not a JSON object', 'truncated'])
  const events2: unknown[] = []
  for await (const event of readEvents(dir)) events2.push(event)
  t.equal(events2.length, 6, 'onTorn is optional')
})

test('Segment-made files (zlib, one member) read the same', async t => {
  const file = fileOf(t, gzipSync(ndjson([{ writeKey: 'k', receivedAt: '2026-12-01T00:00:00.000Z' }])))
  t.same((await read(file)).members[0].lines, ['{"writeKey":"k","receivedAt":"2026-12-01T00:00:00.000Z"}'])
})
