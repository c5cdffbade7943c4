import { existsSync, statSync } from 'node:fs'
import { dirname, join } from 'node:path'
import { test } from 'tap'
import { runAnalysisCommand } from '../../lib/analysis/cli'
import { ingest } from '../../lib/analysis/ingest/ingest'
import { prune } from '../../lib/analysis/prune'
import { listFiles } from '../../lib/reader'
import { collectorApp, post } from '../helpers/collector'
import { batch, keepAlive } from '../helpers/events'
import { anonymousId, App, append, stored } from './helpers/events'
import { capture } from './helpers/forget'

// `prune` deletes the stored files of old received days, and only those that ingest has read to their end and that
// no receiver may append to any more: whatever it keeps, it says why.

const app = new App(anonymousId('prune'), '1.0.0')
const line = (): string => stored(app.keepAlive(), '2026-01-01T10:00:00.000Z')

test('prune deletes the old days\' files ingest has read to their end, and keeps, naming them, those it has not', async t => {
  const dir = t.testdir()
  const db = join(dir, 'fleet.duckdb')
  const gone = append(dir, '2026-01-01', [line()])
  const read = append(dir, '2026-01-02', [line()], { name: 'a.gz' })
  const partly = append(dir, '2026-01-02', [line()], { name: 'b.gz' })
  const recent = append(dir, '2026-12-01', [line()])
  await ingest([dir], db)
  const ingested = statSync(partly).size
  append(dir, '2026-01-02', [line()], { name: 'b.gz' })
  const never = append(dir, '2026-01-02', [line()], { name: 'c.gz' })

  const io = capture()
  t.equal(await runAnalysisCommand('prune', ['--data', dir, '--older-than', '30', '--db', db], io), 0, io.text.err)
  t.equal(io.text.out, '2 files deleted (0.0 MB) of received days older than 30 days; 2 kept\n')
  t.match(io.text.err, /^prune: 2 files deleted \(\d+ s\)\n/, 'progress on stderr')
  t.match(io.text.err, `prune: kept ${partly}: ingested to byte ${ingested} of ${statSync(partly).size}; run ingest first\n`)
  t.match(io.text.err, `prune: kept ${never}: never ingested; run ingest first\n`)
  t.same((await listFiles(dir)).map(f => f.file), [partly, never, recent])
  t.notOk(existsSync(dirname(gone)), 'a day directory left empty is removed')
  t.notOk(existsSync(read))

  await ingest([dir], db)
  const after = await prune(dir, 30, db)
  t.same(after.deleted, [partly, never], 'once ingested, they go too')
  t.same(after.notIngested, [])
})

test('a day is old once it ended the given number of days ago or earlier', async t => {
  const dir = t.testdir()
  const db = join(dir, 'fleet.duckdb')
  const older = append(dir, '2025-12-31', [line()])
  const kept = append(dir, '2026-01-01', [line()])
  await ingest([dir], db)
  const summary = await prune(dir, 30, db, { now: Date.parse('2026-01-31T23:59:59Z') })
  t.same(summary.deleted, [older])
  t.same((await listFiles(dir)).map(f => f.file), [kept])
})

test('while a receiver runs on the directory, each source\'s newest file is kept; once it stops, it goes', async t => {
  const dir = t.testdir()
  const db = join(dir, 'fleet.duckdb')
  const first = append(dir, '2026-01-01', [line()], { source: 'live', name: '1.gz' })
  const newest = append(dir, '2026-01-02', [line()], { source: 'live', name: '2.gz' })
  const other = append(dir, '2026-01-01', [line()], { source: 'other' })
  await ingest([dir], db)
  const { app: receiver } = await collectorApp(t, { dataDir: dir, writeKeys: [{ writeKey: 'k', sourceId: 'new' }] })
  t.equal((await post(receiver, batch([keepAlive()]), { authorization: `Basic ${Buffer.from('k:').toString('base64')}` })).statusCode, 200)

  const io = capture()
  t.equal(await runAnalysisCommand('prune', ['--data', dir, '--older-than', '1', '--db', db], io), 0, io.text.err)
  t.match(io.text.err, `prune: kept ${newest}: a receiver may still append to it\n`)
  t.match(io.text.err, `prune: kept ${other}: a receiver may still append to it\n`)
  t.notOk(existsSync(first))
  await receiver.close()
  t.same((await prune(dir, 1, db)).deleted, [newest, other])
})

const failures: Array<[string[], number, RegExp]> = [
  [['--older-than', '30', '--db', 'x.duckdb'], 2, /--data is required/],
  [['--data', 'd', '--db', 'x.duckdb'], 2, /--older-than is required/],
  [['--data', 'd', '--older-than', '0', '--db', 'x.duckdb'], 2, /--older-than must be an integer ≥ 1; received "0"/],
  [['--data', 'd', '--older-than', '30'], 2, /--db is required/],
  [['--data', 'd', '--older-than', '30', '--db', '/nonexistent/fleet.duckdb'], 1, /^fastify-anonymous-telemetry-collector prune: no fleet database at \/nonexistent\/fleet.duckdb \(--db\): run ingest first\n$/]
]
for (const [argv, code, message] of failures) {
  test(`prune ${argv.join(' ')}: exit ${code}, the error names what to fix`, async t => {
    const io = capture()
    t.equal(await runAnalysisCommand('prune', argv, io), code)
    t.match(io.text.err, message)
  })
}
