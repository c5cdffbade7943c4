import { appendFileSync, cpSync, existsSync, readFileSync } from 'node:fs'
import { join } from 'node:path'
import { test, type Test } from 'tap'
import { runAnalysisCommand } from '../../lib/analysis/cli'
import { DERIVED_INSTALLATION_TABLES, FLEET_TABLES, RAW_INSTALLATION_TABLES } from '../../lib/analysis/columns'
import { openDatabase, rows } from '../../lib/analysis/db'
import { forget } from '../../lib/analysis/forget'
import { ingest } from '../../lib/analysis/ingest/ingest'
import { listFiles, readMembers } from '../../lib/reader'
import { collectorApp, post } from '../helpers/collector'
import { batch, keepAlive } from '../helpers/events'
import { anonymousId, App, append, stored } from './helpers/events'
import { capture, eventsOf, FEATURE_TABLES, fleet, snapshot } from './helpers/forget'

// `forget` takes one installation out of the database, the stored files and every later ingest. What it leaves must
// be what ingesting the files without that installation gives from scratch: that is checked table by table.

async function fleetStats (t: Test, db: string, out: string): Promise<{ installations: number, instances: number, requests: number }> {
  const io = capture()
  t.equal(await runAnalysisCommand('report', ['--db', db, '--out', out, '--min-installations', '1'], io), 0, io.text.err)
  return JSON.parse(readFileSync(join(out, 'stats.json'), 'utf8')).fleet
}

test('forget takes an installation out of the database, the files and the report, as if it had never sent anything', async t => {
  const dir = t.testdir()
  const { data, db, id } = await fleet(dir)
  const original = join(dir, 'original')
  cpSync(data, original, { recursive: true })
  const before = await eventsOf(data, id)
  const reportBefore = await fleetStats(t, db, join(dir, 'before'))
  const conn = await openDatabase(db)
  const [its] = await rows(conn.connection, `SELECT (SELECT sum(requests)::INTEGER FROM installation_traffic WHERE anonymous_id = '${id}') AS requests,
    (SELECT count(*)::INTEGER FROM instances WHERE anonymous_id = '${id}') AS instances`)
  conn.close()

  const io = capture()
  t.equal(await runAnalysisCommand('forget', ['--cluster-id', id.toUpperCase(), '--db', db, '--data', data], io), 0, io.text.err)
  t.match(io.text.out, new RegExp(`^forgotten: \\d+ events and \\d+ report parts deleted from the database; 2 files rewritten without its ${before.theirs} stored events, 0 kept for a later run`))
  t.match(io.text.err, /^forget: 2 files rewritten \(\d+ s\)\n/, 'progress on stderr')

  t.same(await eventsOf(data, id), { all: before.all - before.theirs, theirs: 0 }, 'the files hold every other event and none of its')
  const after = await openDatabase(db)
  const named = await rows(after.connection, "SELECT table_name AS t FROM duckdb_columns() WHERE column_name = 'anonymous_id' AND NOT internal")
  for (const { t: table } of named) {
    const [{ n }] = await rows(after.connection, `SELECT count(*)::INTEGER AS n FROM ${table as string} WHERE anonymous_id = '${id}'`)
    t.equal(n, table === 'forgotten' ? 1 : 0, `${table as string} holds ${table === 'forgotten' ? 'the id, alone' : 'no row of it'}`)
  }
  after.close()

  const rebuilt = join(dir, 'rebuilt.duckdb')
  await ingest([data], rebuilt)
  const tables = await snapshot(db, dir)
  t.same(tables, await snapshot(rebuilt, dir), 'every table equals a fresh ingest of the files without it')
  for (const table of FEATURE_TABLES) t.ok((tables[table] as unknown[]).length > 0, `${table} is compared with rows in it`)

  const reportAfter = await fleetStats(t, db, join(dir, 'after'))
  t.same(reportAfter, {
    installations: reportBefore.installations - 1,
    instances: reportBefore.instances - (its.instances as number),
    requests: reportBefore.requests - (its.requests as number)
  }, 'the report\'s totals drop by exactly its installation, instances and requests')

  const again = capture()
  t.equal(await runAnalysisCommand('ingest', [original, '--db', db], again), 0, again.text.err)
  t.match(again.text.err, `ingest: ${before.theirs} events of forgotten installations left out`, 'a copy of the files from before brings nothing back')
  t.same(await fleetStats(t, db, join(dir, 'again')), reportAfter)
})

/** Whether one stored file holds an event of installation `id`. */
async function holds (file: string, id: string): Promise<boolean> {
  for await (const member of readMembers(file)) if (member.lines.some(line => JSON.parse(line).anonymousId === id)) return true
  return false
}

test('while a receiver runs on the directory, each source\'s newest file is kept and listed; a later run rewrites it', async t => {
  const { data, db, id } = await fleet(t.testdir())
  const { app } = await collectorApp(t, { dataDir: data, writeKeys: [{ writeKey: 'test-write-key', sourceId: 'live' }, { writeKey: 'other', sourceId: 'other' }] })
  t.equal((await post(app, batch([keepAlive({ anonymousId: id }), keepAlive()]))).statusCode, 200)
  t.equal((await post(app, batch([keepAlive()]), { authorization: `Basic ${Buffer.from('other:').toString('base64')}` })).statusCode, 200)
  const [live, other, day1, day2] = (await listFiles(data)).map(f => f.file)

  const io = capture()
  t.equal(await runAnalysisCommand('forget', ['--cluster-id', id, '--db', db, '--data', data], io), 0, io.text.err)
  t.match(io.text.err, `forget: kept ${day2}: a receiver may still append to it; run this forget again once its source has a newer file`)
  t.match(io.text.err, `forget: kept ${live}:`)
  t.match(io.text.out, '1 files rewritten')
  t.notMatch(io.text.err, other, 'an open file without its events is not listed')
  t.same(await Promise.all([live, day1, day2].map(async file => await holds(file, id))), [true, false, true])

  await app.close()
  const later = await forget(id, db, [data])
  t.same(later.rewritten, [live, day2], 'with the receiver stopped, they are finished')
  t.same(later.pending, [])
  t.equal((await eventsOf(data, id)).theirs, 0)
})

test('a file read in part by ingest is read on from the same event after the rewrite; a torn end and an emptied file go', async t => {
  const dir = t.testdir()
  const gone = new App(anonymousId('forget-me'), '1.0.0')
  const stays = new App(anonymousId('keep-me'), '1.0.0')
  const line = (event: Record<string, unknown>): string => stored(event, '2026-03-01T10:00:00.000Z')
  append(dir, '2026-03-01', [line(stays.identify())])
  append(dir, '2026-03-01', [line(gone.identify()), line(stays.keepAlive())])
  append(dir, '2026-03-01', [line(gone.keepAlive())])
  const db = join(dir, 'fleet.duckdb')
  await ingest([dir], db)
  const partly = append(dir, '2026-03-01', [line(stays.keepAlive()), line(gone.keepAlive())])
  const untouched = append(dir, '2026-03-02', [line(stays.keepAlive())])
  const emptied = append(dir, '2026-03-03', [line(gone.keepAlive())])
  const torn = append(dir, '2026-03-04', [line(gone.keepAlive()), line(stays.keepAlive())])
  appendFileSync(torn, Buffer.from([0x1f, 0x8b, 8, 0, 0, 0]))
  const untouchedBytes = readFileSync(untouched)

  const io = capture()
  t.equal(await runAnalysisCommand('forget', ['--cluster-id', gone.anonymousId, '--db', db, '--data', dir], io), 0, io.text.err)
  t.match(io.text.out, 'forgotten: 2 events and 0 report parts deleted from the database; 3 files rewritten without its 5 stored events')
  t.match(io.text.err, `forget: the unreadable end of ${torn} from byte`)
  t.same((await listFiles(dir)).map(f => f.file), [partly, untouched, torn])
  t.notOk(existsSync(emptied), 'a file left with no event is deleted')
  t.ok(readFileSync(untouched).equals(untouchedBytes), 'a file without its events is left as it is')
  const next = await ingest([dir], db)
  t.same([next.events, next.duplicates], [3, 0], 'only what ingest had not read yet is read: nothing twice')
  await ingest([dir], join(dir, 'rebuilt.duckdb'))
  t.same(await snapshot(db, dir), await snapshot(join(dir, 'rebuilt.duckdb'), dir))
})

test('forget without --data forgets in the database alone; a second run finds nothing more', async t => {
  const { db, id } = await fleet(t.testdir())
  const first = await forget(id, db, [])
  t.ok(first.deleted.events > 0)
  const second = await forget(id, db, [])
  t.same(second.deleted, { record_status: 0, part_facts: 0, part_features: 0, records: 0, parts: 0, events: 0 })
})

test('every table of the database is declared as raw, derived or fleet-wide, so that forget reaches each one', async t => {
  const db = await openDatabase(join(t.testdir(), 'fleet.duckdb'))
  t.teardown(() => db.close())
  const tables = await rows(db.connection, 'SELECT table_name AS t FROM duckdb_tables() WHERE database_name = current_database() AND NOT temporary')
  const declared = [...RAW_INSTALLATION_TABLES.map(table => table.name), ...DERIVED_INSTALLATION_TABLES, ...FLEET_TABLES]
  t.same(tables.map(r => r.t).sort(), declared.sort())
})

const failures: Array<[string[], number, RegExp]> = [
  [['--db', 'x.duckdb'], 2, /--cluster-id is required/],
  [['--cluster-id', 'abc', '--db', 'x.duckdb'], 2, /--cluster-id must be a cluster id \(the events' anonymousId: 128 hex digits\); received "abc"/],
  [['--cluster-id', 'ab'.repeat(64)], 2, /--db is required/],
  [['--cluster-id', 'ab'.repeat(64), '--db', '/nonexistent/fleet.duckdb'], 1, /^fastify-anonymous-telemetry-collector forget: no fleet database at \/nonexistent\/fleet.duckdb \(--db\): run ingest first\n$/]
]
for (const [argv, code, message] of failures) {
  test(`forget ${argv.join(' ').replace(/[0-9a-f]{128}/, '<id>')}: exit ${code}, the error names what to fix`, async t => {
    const io = capture()
    t.equal(await runAnalysisCommand('forget', argv, io), code)
    t.match(io.text.err, message)
  })
}
