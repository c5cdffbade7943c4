import { readFileSync } from 'node:fs'
import { join } from 'node:path'
import { test, type Test } from 'tap'
import { DuckDBInstance } from '@duckdb/node-api'
import { openDatabase, rows } from '../../lib/analysis/db'
import { exportParquet } from '../../lib/analysis/export'
import { ingest } from '../../lib/analysis/ingest/ingest'
import { buildReport } from '../../lib/analysis/report/report'
import { App, anonymousId, append, stored } from './helpers/events'

const DAY = '2026-03-01'
const at = (time: string, day = DAY): string => `${day}T${time}.000Z`

async function query (t: Test, dbPath: string, sql: string): Promise<Array<Record<string, unknown>>> {
  const db = await openDatabase(dbPath)
  try {
    return await rows(db.connection, sql)
  } finally {
    db.close()
  }
}

const total = async (t: Test, db: string, table: string, where = 'true'): Promise<number> =>
  Number((await query(t, db, `SELECT coalesce(sum(requests), 0) AS n FROM ${table} WHERE ${where}`))[0].n)

test('traffic is the delta between consecutive complete reports of an instance, summed exactly in the roll-ups', async t => {
  const dir = t.testdir()
  const db = join(dir, 'fleet.duckdb')
  const app = new App(anonymousId('one'), '1.0.0')
  app.serve('/books', 'GET', 10).serve('/books', 'POST', 4, { status: 500 })
  const first = app.report()
  app.serve('/books', 'GET', 5, { aborted: 2 }).serve('/', 'GET', 1)
  const second = app.report()
  append(dir, DAY, [app.identify(), ...first, ...second, app.keepAlive()].map(e => stored(e, at('10:00:00'))))
  await ingest([dir], db)
  t.equal(await total(t, db, 'daily_traffic'), 20)
  t.equal(await total(t, db, 'installation_traffic'), 20)
  const rowsOf = await query(t, db, "SELECT method, requests, responses, aborted, status, latency_buckets[4] AS b4, installations, instances FROM daily_traffic WHERE endpoint = '/books' ORDER BY method")
  t.same(rowsOf.map(r => [r.method, r.requests, r.responses, r.aborted, r.b4, r.installations, r.instances]), [['GET', '15', '13', '2', '13', '1', '1'], ['POST', '4', '4', '0', '4', '1', '1']])
  t.same(rowsOf[1].status, [{ key: '500', value: '4' }])
  const it = await query(t, db, "SELECT errors_5xx, version FROM installation_traffic WHERE method = 'POST'")
  t.same(it, [{ errors_5xx: '4', version: '1.0.0' }])
  t.same(await query(t, db, 'SELECT count(*) AS n, min(rss) AS rss FROM memory_by_version'), [{ n: '2', rss: '1000' }])
})

test('two reports of an instance in the same uptime second are ordered by their cumulative counts, whatever their ids', async t => {
  const dir = t.testdir()
  const db = join(dir, 'fleet.duckdb')
  const app = new App(anonymousId('quick'), '1.0.0')
  const reports = []
  for (let i = 0; i < 6; i++) {
    app.serve('/books', 'GET', 10)
    reports.push(app.report())
    app.uptime -= 900
  }
  // Stored newest first, all received in the same millisecond: only the counts tell their order.
  append(dir, DAY, [app.identify(), ...reports.reverse().flat()].map(e => stored(e, at('10:00:00'))))
  await ingest([dir], db)
  t.equal(await total(t, db, 'daily_traffic'), 60)
  t.same(await query(t, db, 'SELECT count(*) AS n FROM traffic WHERE requests < 0'), [{ n: '0' }])
})

test('a restart is a new instance whose first report is its own delta; a lost report makes the next delta cover both', async t => {
  const dir = t.testdir()
  const db = join(dir, 'fleet.duckdb')
  const before = new App(anonymousId('two'), '1.0.0')
  before.serve('/a', 'GET', 7)
  const r1 = before.report()
  before.serve('/a', 'GET', 3)
  before.report() // lost: the receiver was down
  before.serve('/a', 'GET', 2)
  const r3 = before.report()
  const after = new App(before.anonymousId, '1.1.0')
  after.serve('/a', 'GET', 11)
  const r4 = after.report()
  append(dir, DAY, [before.identify(), ...r1, ...r3, after.identify(), ...r4].map(e => stored(e, at('12:00:00'))))
  await ingest([dir], db)
  t.equal(await total(t, db, 'daily_traffic', "version = '1.0.0'"), 12)
  t.equal(await total(t, db, 'daily_traffic', "version = '1.1.0'"), 11)
  t.same(await query(t, db, 'SELECT installations, instances FROM daily_traffic'), [{ installations: '1', instances: '1' }, { installations: '1', instances: '1' }])
  t.same(await query(t, db, 'SELECT count(*) AS n FROM instances'), [{ n: '2' }])
})

test('split reports count once all parts arrived, for schemaVersion 1 (whole endpoints) and 2 (methods spread)', async t => {
  const dir = t.testdir()
  const db = join(dir, 'fleet.duckdb')
  const v1 = new App(anonymousId('v1'), '1.0.0', 1)
  const v2 = new App(anonymousId('v2'), '1.0.0', 2)
  for (const app of [v1, v2]) app.serve('/x', 'GET', 1).serve('/x', 'POST', 2).serve('/y', 'GET', 4).serve('/y', 'PUT', 8)
  const p1 = v1.report(2)
  const p2 = v2.report(3)
  t.same(Object.keys((p2[0].properties as { paths: object }).paths), ['/x', '/y'], 'v2 spreads one endpoint over parts')
  append(dir, DAY, [...p1, ...p2].map(e => stored(e, at('13:00:00'))))
  await ingest([dir], db)
  t.equal(await total(t, db, 'daily_traffic'), 30)
  t.same(await query(t, db, 'SELECT parts FROM reports ORDER BY parts'), [{ parts: 2 }, { parts: 3 }])
})

test('a late part completes its report on the next ingest; an instance without identify reads version unknown', async t => {
  const dir = t.testdir()
  const db = join(dir, 'fleet.duckdb')
  const app = new App(anonymousId('late'), '1.0.0')
  app.serve('/x', 'GET', 5).serve('/y', 'GET', 6)
  const [a, b] = app.report(2)
  append(dir, DAY, [stored(a, at('23:59:59'))])
  await ingest([dir], db)
  t.equal(await total(t, db, 'daily_traffic'), 0, 'incomplete report does not count')
  append(dir, '2026-03-02', [stored(b, at('00:00:01', '2026-03-02'))])
  const second = await ingest([dir], db)
  t.equal(second.lines, 1, 'the second run reads only the new file')
  t.same(await query(t, db, 'SELECT day, version, requests FROM daily_traffic ORDER BY endpoint'), [
    { day: '2026-03-02', version: 'unknown', requests: '5' }, { day: '2026-03-02', version: 'unknown', requests: '6' }
  ], 'the report belongs to the UTC day its last part was received')
})

test('re-ingesting is idempotent; a duplicate batch in another file or source is stored once', async t => {
  const dir = t.testdir()
  const db = join(dir, 'fleet.duckdb')
  const app = new App(anonymousId('dup'), '1.0.0')
  app.serve('/x', 'GET', 9)
  const batch = [app.identify(), ...app.report()].map(e => stored(e, at('08:00:00')))
  append(dir, DAY, batch)
  append(dir, DAY, batch, { name: 'b.gz' })
  append(dir, DAY, batch, { source: 'other' })
  const first = await ingest([dir], db)
  t.equal(first.events, 2)
  t.equal(first.duplicates, 4)
  const again = await ingest([dir, dir], db)
  t.equal(again.lines, 0, 'nothing new to read')
  t.equal(again.events, 0)
  t.equal(await total(t, db, 'daily_traffic'), 9)
  t.same(await query(t, db, 'SELECT count(*) AS n FROM events'), [{ n: '2' }])
})

test('records a run appended and did not commit (it died before its load) are dropped by the next run, which reads their files again', async t => {
  const dir = t.testdir()
  const db = join(dir, 'fleet.duckdb')
  const app = new App(anonymousId('died'), '1.0.0')
  app.serve('/x', 'GET', 3)
  append(dir, DAY, [app.identify(), ...app.report()].map(e => stored(e, at('08:00:00'))))
  await ingest([dir], db)
  const [{ report_id: reportId, next }] = await query(t, db, 'SELECT report_id, (SELECT next_rid FROM ingest_state) AS next FROM parts')
  const dead = await openDatabase(db)
  await dead.connection.run(`INSERT INTO records (rid, report_id, part, endpoint, method, requests) VALUES (${String(next)}, '${String(reportId)}', 1, '/x', 'GET', 1000);
    INSERT INTO record_status VALUES (${String(next)}, '200', 1000)`)
  dead.close()
  app.serve('/x', 'GET', 4)
  append(dir, DAY, app.report().map(e => stored(e, at('09:00:00'))))
  await ingest([dir], db)
  t.same(await query(t, db, 'SELECT count(*) AS n, max(requests) AS most FROM records'), [{ n: '2', most: '7' }])
  t.same(await query(t, db, `SELECT count(*) AS n FROM record_status WHERE rid = ${String(next)} AND n = 1000`), [{ n: '0' }])
  t.equal(await total(t, db, 'daily_traffic'), 7)
})

test('incremental: a re-run reads only the members appended since, from the stored offset', async t => {
  const dir = t.testdir()
  const db = join(dir, 'fleet.duckdb')
  const app = new App(anonymousId('inc'), '1.0.0')
  app.serve('/x', 'GET', 1)
  const file = append(dir, DAY, app.report().map(e => stored(e, at('01:00:00'))))
  await ingest([dir], db)
  const size = readFileSync(file).length
  t.same(await query(t, db, 'SELECT "offset", size FROM ingest_files'), [{ offset: String(size), size: String(size) }])
  app.serve('/x', 'GET', 2)
  const line = stored(app.report()[0], at('02:00:00'))
  append(dir, DAY, [line])
  const second = await ingest([dir], db)
  t.same([second.lines, second.bytes, second.events], [1, line.length + 1, 1])
  t.equal(await total(t, db, 'daily_traffic'), 3)
})

test('a torn member and a line that is no event are skipped and reported, never fatal; the torn member is read once complete', async t => {
  const dir = t.testdir()
  const db = join(dir, 'fleet.duckdb')
  const app = new App(anonymousId('torn'), '1.0.0')
  app.serve('/x', 'GET', 4)
  const good = append(dir, DAY, [...app.report().map(e => stored(e, at('03:00:00'))), 'not json', '{"no":"messageId"}'])
  app.serve('/x', 'GET', 1)
  const { gzipSync } = await import('node:zlib')
  const whole = gzipSync(stored(app.report()[0], at('04:00:00')) + '\n')
  const { appendFileSync } = await import('node:fs')
  appendFileSync(good, whole.subarray(0, whole.length - 5))
  const first = await ingest([dir], db)
  t.same(first.skipped.map(s => s.reason), ['line 2 of the member is not an event with a messageId', 'line 3 of the member is not an event with a messageId', 'truncated'])
  t.equal(await total(t, db, 'daily_traffic'), 4)
  appendFileSync(good, whole.subarray(whole.length - 5))
  const second = await ingest([dir], db)
  t.same(second.skipped, [])
  t.equal(second.events, 1)
  t.equal(await total(t, db, 'daily_traffic'), 5)
})

test('Segment S3 lines: extra fields tolerated, the write key stored nowhere; missing receivedAt falls back to the day folder', async t => {
  const dir = t.testdir()
  const db = join(dir, 'fleet.duckdb')
  const writeKey = 'wk_SEGMENT_WRITE_KEY_0123456789'
  const app = new App(anonymousId('segment'), '2.0.0')
  app.serve('/x', 'GET', 3)
  const events = [app.identify(), ...app.report()]
  append(dir, DAY, events.map(e => JSON.stringify({ ...e, writeKey, originalTimestamp: at('05:00:00'), projectId: 'p' })), { source: 'seg' })
  await ingest([dir], db)
  t.same(await query(t, db, 'SELECT day, version, requests FROM daily_traffic'), [{ day: DAY, version: '2.0.0', requests: '3' }])
  t.same(await query(t, db, 'SELECT DISTINCT source_id, received_at FROM events'), [{ source_id: 'seg', received_at: `${DAY} 00:00:00` }])
  t.notOk(readFileSync(db).includes(writeKey), 'the database file holds no write key')
  t.notOk((await query(t, db, 'SELECT string_agg(properties::VARCHAR) AS p FROM events'))[0].p?.toString().includes(writeKey))
})

test('progress is reported per chunk handed to DuckDB (files, lines, events and rate), then once as the update starts', async t => {
  const dir = t.testdir()
  const db = join(dir, 'fleet.duckdb')
  const app = new App(anonymousId('progress'), '1.0.0')
  for (let i = 0; i < 3; i++) append(dir, DAY, app.serve('/x', 'GET', 1).report().map(e => stored(e, at('06:00:00'))))
  const seen: string[] = []
  const summary = await ingest([dir], db, { chunkBytes: 1, onProgress: p => seen.push(`${p.phase} ${p.events}`) })
  t.same(seen, ['load 1', 'load 2', 'load 3', 'load 3', 'update 3'])
  t.ok(summary.rate > 0)
  t.ok(summary.updateSeconds > 0 && summary.updateSeconds < summary.seconds, 'the update is timed apart')
  t.equal(summary.reports, 3)
  t.equal(summary.installations, 1)
})

test('values of the wrong type are stored as NULL and never fail the load; the records that are well formed still count', async t => {
  const dir = t.testdir()
  const db = join(dir, 'fleet.duckdb')
  const app = new App(anonymousId('malformed'), '1.0.0')
  app.serve('/ok', 'GET', 4, { status: 201 })
  const [report] = app.report()
  const properties = report.properties as Record<string, unknown> & { paths: Record<string, unknown> }
  properties.paths['/ok'] = { methods: { GET: { ...(properties.paths['/ok'] as { methods: { GET: object } }).methods.GET, status: { 201: 4, 404: 'x', 500: 1.5, 503: 0 } } } }
  properties.paths['/no-latency'] = { methods: { GET: { requests: 2, responses: 2, aborted: 0, status: 'x', size: { buckets: 'x' } }, POST: 'x', PUT: { requests: 1, responses: 1e300, latency: { buckets: [-(2 ** 63)] } } } }
  properties.paths['/entry'] = 'x'
  properties.paths['/methods'] = { methods: [] }
  delete properties.memory
  const noUptime = { ...report, messageId: 'no-uptime', properties: { ...properties, reportId: 'other', uptime: '900' } }
  const odd = [
    { type: 'identify', anonymousId: app.anonymousId, messageId: 'no-traits', receivedAt: 5 },
    { type: 'track', event: 7, anonymousId: 7, messageId: 'odd-track', properties: ['x'] },
    { messageId: 'no-type', properties: { instanceId: 'i', schemaVersion: 2.5 } }
  ]
  append(dir, DAY, [stored(report, at('09:00:00')), stored(noUptime, at('09:00:00')), ...odd.map(e => JSON.stringify(e))])
  await ingest([dir], db)
  t.same(await query(t, db, 'SELECT endpoint, method, requests, responses, l1, s1 FROM records ORDER BY endpoint, method'), [
    { endpoint: '/no-latency', method: 'GET', requests: '2', responses: '2', l1: null, s1: null },
    { endpoint: '/no-latency', method: 'PUT', requests: '1', responses: null, l1: null, s1: null },
    { endpoint: '/ok', method: 'GET', requests: '4', responses: '4', l1: '0', s1: '0' }
  ], 'a count no BIGINT holds is NULL')
  t.same(await query(t, db, 'SELECT endpoint, code, n FROM record_status JOIN records USING (rid) ORDER BY endpoint, code'), [
    { endpoint: '/ok', code: '201', n: '4' }, { endpoint: '/ok', code: '503', n: '0' }
  ], 'only integer counts are stored')
  t.same(await query(t, db, 'SELECT report_id, rss FROM parts'), [{ report_id: (properties.reportId as string), rss: null }], 'a part without a numeric uptime is no part')
  t.same(await query(t, db, 'SELECT message_id, kind, anonymous_id, instance_id, schema_version, properties FROM events WHERE message_id IN (\'no-traits\', \'odd-track\', \'no-type\') ORDER BY message_id'), [
    { message_id: 'no-traits', kind: 'identify', anonymous_id: app.anonymousId, instance_id: null, schema_version: null, properties: null },
    { message_id: 'no-type', kind: null, anonymous_id: null, instance_id: 'i', schema_version: null, properties: '{"instanceId":"i","schemaVersion":2.5}' },
    { message_id: 'odd-track', kind: null, anonymous_id: null, instance_id: null, schema_version: null, properties: '["x"]' }
  ])
  t.equal(await total(t, db, 'daily_traffic'), 7)
})

test('a database whose tables are of another model version is refused by ingest, export and report, and left as it was', async t => {
  const dir = t.testdir()
  const older = join(dir, 'older.duckdb')
  const newer = join(dir, 'newer.duckdb')
  for (const [file, sql] of [[older, 'CREATE TABLE events (message_id VARCHAR)'], [newer, 'CREATE TABLE events (message_id VARCHAR); CREATE TABLE ingest_model (version INTEGER); INSERT INTO ingest_model VALUES (99)']]) {
    const instance = await DuckDBInstance.create(file)
    const connection = await instance.connect()
    await connection.run(sql)
    connection.closeSync()
    instance.closeSync()
  }
  const refused = (file: string, found: number): { code: string, message: RegExp } => ({ code: 'FST_TELEMETRY_COLLECTOR_DATABASE_MODEL', message: new RegExp(`"${file.replaceAll('/', '\\/')}" holds tables of model ${found}, this collector reads and writes model 2; ingest the stored files into a new database file`) })
  await t.rejects(ingest([dir], older), refused(older, 1))
  await t.rejects(exportParquet(older, join(dir, 'parquet')), refused(older, 1))
  await t.rejects(buildReport(older, join(dir, 'site')), refused(older, 1))
  await t.rejects(ingest([dir], newer), refused(newer, 99))
  const instance = await DuckDBInstance.create(older)
  const connection = await instance.connect()
  t.same((await connection.runAndReadAll("SELECT table_name FROM duckdb_tables() WHERE schema_name = 'main'")).getRowObjectsJson(), [{ table_name: 'events' }], 'nothing was added to it')
  connection.closeSync()
  instance.closeSync()
})

test('openDatabase sets DuckDB\'s memory limit when given one', async t => {
  const db = await openDatabase(join(t.testdir(), 'fleet.duckdb'), { memoryLimit: '300MB' })
  t.teardown(() => db.close())
  t.same(await rows(db.connection, "SELECT current_setting('memory_limit') AS m"), [{ m: '286.1 MiB' }])
})
