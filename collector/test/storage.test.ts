import { randomBytes } from 'node:crypto'
import { readdirSync, statSync } from 'node:fs'
import { join } from 'node:path'
import { test, type Test } from 'tap'
import { listFiles, readMembers } from '../lib/reader'
import type { StoredFile } from '../lib/storage/file'
import { receivedDay } from '../lib/storage/layout'
import { Storage } from '../lib/storage/storage'
import { stored } from './helpers/collector'

const DAY = 86_400_000
const NOON = Date.UTC(2026, 11, 1, 12)

async function storage (t: Test, options: { maxFileBytes?: number, now?: () => number } = {}): Promise<Storage> {
  const s = new Storage(t.testdir(), { maxFileBytes: 64 * 2 ** 20, gzipLevel: 6, ...options })
  await s.start()
  t.teardown(async () => await s.close())
  return s
}

test('receivedDay is the Unix ms of the UTC midnight of the day', async t => {
  t.equal(receivedDay(NOON), Date.UTC(2026, 11, 1))
  t.equal(receivedDay(Date.UTC(2026, 11, 1)), Date.UTC(2026, 11, 1))
  t.equal(receivedDay(Date.UTC(2026, 11, 1) - 1), Date.UTC(2026, 10, 30))
})

test('concurrent batches share commits: fewer members and fsyncs than batches, each batch whole in one member', async t => {
  const s = await storage(t)
  const batches = Array.from({ length: 200 }, (_, i) => [`{"batch":${i},"line":0}`, `{"batch":${i},"line":1}`])
  await Promise.all(batches.map(async lines => await s.append('src', lines, NOON)))
  t.ok(s.stats.commits < batches.length, `${s.stats.commits} commits for ${batches.length} batches`)
  t.equal(s.stats.fsyncs, s.stats.commits, 'one fsync per commit (one file)')
  const [file] = await listFiles(s.dataDir)
  const members = []
  for await (const member of readMembers(file.file)) members.push(member)
  t.equal(members.length, s.stats.commits, 'one gzip member per commit')
  for (const member of members) {
    const ids = member.lines.map(line => JSON.parse(line).batch)
    for (let i = 0; i < ids.length; i += 2) t.equal(ids[i], ids[i + 1], 'both lines of a batch in one member')
  }
  t.equal((await stored(s.dataDir)).events.length, 400)
})

test('a file rotates before it would pass maxFileBytes', async t => {
  const s = await storage(t, { maxFileBytes: 1024 })
  // Incompressible lines: each member is about 600 bytes, so each file holds one.
  for (let i = 0; i < 5; i++) await s.append('src', [JSON.stringify({ i, noise: randomBytes(700).toString('base64') })], NOON)
  const files = await listFiles(s.dataDir)
  t.equal(files.length, 5)
  for (const { file } of files) t.ok(statSync(file).size <= 1024)
  t.equal((await stored(s.dataDir)).events.length, 5)
})

test('a new day starts a new directory and closes the source\'s older day', async t => {
  let now = NOON
  const s = await storage(t, { now: () => now })
  await s.append('a', ['{"d":1}'], NOON)
  await s.append('b', ['{"d":1}'], NOON)
  now = NOON + DAY
  await s.append('a', ['{"d":2}'], NOON + DAY)
  const open = (s as unknown as { open: Map<string, StoredFile> }).open
  t.same([...open.keys()].sort(), ['a/' + String(receivedDay(NOON + DAY)), 'b/' + String(receivedDay(NOON))])
  t.same((await listFiles(s.dataDir)).map(f => [f.sourceId, f.receivedDay]), [['a', receivedDay(NOON)], ['a', receivedDay(NOON + DAY)], ['b', receivedDay(NOON)]])
})

test('files are named by creation time and never reused across restarts', async t => {
  const dataDir = t.testdir()
  for (let run = 0; run < 2; run++) {
    const s = new Storage(dataDir, { maxFileBytes: 2 ** 20, gzipLevel: 1 })
    await s.start()
    await s.append('src', ['{}'], NOON)
    await s.close()
  }
  const names = readdirSync(join(dataDir, 'segment-logs', 'src', String(receivedDay(NOON))))
  t.equal(names.length, 2)
  for (const name of names) t.match(name, /^\d{13}\.[0-9a-f]{8}\.gz$/)
})

test('close waits for the commit in progress, then refuses appends', async t => {
  const s = await storage(t)
  const inFlight = s.append('src', ['{"last":true}'], NOON)
  await s.close()
  await inFlight
  t.equal((await stored(s.dataDir)).events.length, 1)
  await t.rejects(s.append('src', ['{}'], NOON), /the storage is closed/)
})

test('a failed write rejects its batches, and the next commit goes to a new file', async t => {
  const s = await storage(t)
  await s.append('src', ['{"n":1}'], NOON)
  // A real I/O failure: the file's descriptor is closed under the storage.
  const open = (s as unknown as { open: Map<string, { handle: { close: () => Promise<void> } }> }).open
  await [...open.values()][0].handle.close()
  await t.rejects(s.append('src', ['{"n":2}'], NOON), { code: 'EBADF' })
  await s.append('src', ['{"n":3}'], NOON)
  t.equal((await listFiles(s.dataDir)).length, 2)
  t.same((await stored(s.dataDir)).events, [{ n: 1 }, { n: 3 }])
})

test('writable probes the data dir by creating a file there', async t => {
  const s = await storage(t)
  t.equal(await s.writable(), true)
  t.same(readdirSync(s.dataDir), ['segment-logs'], 'the probe file is removed')
})
