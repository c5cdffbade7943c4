import { randomUUID } from 'node:crypto'
import { cpSync, readFileSync } from 'node:fs'
import { join } from 'node:path'
import { test } from 'tap'
import { openDatabase, rows } from '../../lib/analysis/db'
import { exportParquet } from '../../lib/analysis/export'
import { forget } from '../../lib/analysis/forget'
import { ingest } from '../../lib/analysis/ingest/ingest'
import { prune } from '../../lib/analysis/prune'
import { collectorApp, post, stored as storedEvents } from '../helpers/collector'
import { batch } from '../helpers/events'
import { App, anonymousId, append, stored } from './helpers/events'

// Part 1's facts and feature counts (schemaVersion 3) as the model reads them: counts turned into uses like requests,
// facts counted per installation under every value it reported, and the tables that hold them kept right by forget,
// prune and export.

const DAY = '2026-06-01'
const line = (event: Record<string, unknown>, time = '10:00:00', day = DAY): string => stored(event, `${day}T${time}.000Z`)

/** Every row of the feature tables, in one comparable object. */
const FEATURE_TABLES = ['part_facts', 'part_features', 'daily_instance_facts', 'daily_instance_features', 'daily_facts', 'daily_features']

async function featureTables (db: string): Promise<Record<string, unknown>> {
  const conn = await openDatabase(db)
  try {
    const tables: Record<string, unknown> = {}
    for (const table of FEATURE_TABLES) tables[table] = await rows(conn.connection, `SELECT * FROM ${table} ORDER BY ALL`)
    return tables
  } finally {
    conn.close()
  }
}

async function query (db: string, sql: string): Promise<Array<Record<string, unknown>>> {
  const conn = await openDatabase(db)
  try {
    return await rows(conn.connection, sql)
  } finally {
    conn.close()
  }
}

const features = async (db: string): Promise<unknown[]> => await query(db,
  'SELECT day::VARCHAR AS day, version, name, installations::INTEGER AS i, installations_using::INTEGER AS u, uses::INTEGER AS uses FROM daily_features ORDER BY ALL')
const facts = async (db: string): Promise<unknown[]> => await query(db,
  'SELECT day::VARCHAR AS day, version, name, value, installations::INTEGER AS i, instances::INTEGER AS n FROM daily_facts ORDER BY ALL')

test('the receiver takes a real schemaVersion 3 report with facts and features; the same at schemaVersion 2 only without them', async t => {
  // What the plugin sends today (its docs/telemetry-example.json, checked against what a run sends by its own tests).
  const example = JSON.parse(readFileSync(join(__dirname, '..', '..', '..', 'docs', 'telemetry-example.json'), 'utf8')) as Array<Record<string, any>>
  const report = example.find(event => event.event === 'telemetry') as Record<string, any>
  t.match(report.properties, { schemaVersion: 3, facts: { storage: String }, features: Object })
  const { facts: _facts, features: _features, ...v2properties } = report.properties
  const { app, dataDir } = await collectorApp(t)
  const cases: Array<[string, Record<string, unknown>, number]> = [
    ['schemaVersion 3 with facts and features', report, 200],
    ['schemaVersion 2 without them', { ...report, properties: { ...v2properties, schemaVersion: 2 } }, 200],
    ['schemaVersion 2 with them', { ...report, properties: { ...report.properties, schemaVersion: 2 } }, 400]
  ]
  for (const [what, event, status] of cases) {
    // A new messageId each: the receiver stores a message once.
    const response = await post(app, batch([{ ...event, messageId: `node-next-${Date.now()}-${randomUUID()}` }]))
    t.equal(response.statusCode, status, `${what}: ${response.body}`)
  }
  const { events } = await storedEvents(dataDir)
  t.same(events.map(event => [event.properties.schemaVersion, event.properties.facts]), [[3, report.properties.facts], [2, undefined]])
})

test('reports of schemaVersion 1, 2 and 3 are read together; only 3 brings facts and features', async t => {
  const dir = t.testdir()
  const db = join(dir, 'fleet.duckdb')
  const lines = [1, 2, 3].flatMap(version => {
    const instance = new App(anonymousId(`read-v${version}`), '1.0.0', version).serve('/a', 'GET', version).fact('storage', 'sqlite').use('exports', 2)
    return [instance.identify(), ...instance.report(2)].map(event => line(event))
  })
  append(dir, DAY, lines)
  await ingest([dir], db)
  t.same(await query(db, 'SELECT sum(requests)::INTEGER AS n, max(installations)::INTEGER AS i FROM daily_traffic'), [{ n: 6, i: 3 }])
  t.same(await facts(db), [{ day: DAY, version: '1.0.0', name: 'storage', value: 'sqlite', i: 1, n: 1 }])
  t.same(await features(db), [{ day: DAY, version: '1.0.0', name: 'exports', i: 1, u: 1, uses: 2 }])
})

test('a restart starts the counts again: the new instance\'s first report counts whole, as for requests', async t => {
  const dir = t.testdir()
  const db = join(dir, 'fleet.duckdb')
  const before = new App(anonymousId('restart'), '1.0.0', 3).use('exports', 5)
  const r1 = before.report()
  before.use('exports', 3)
  const r2 = before.report()
  const after = new App(before.anonymousId, '1.0.0', 3).use('exports', 2).use('webhooks', 0)
  const r3 = after.report()
  append(dir, DAY, [before.identify(), ...r1, ...r2, after.identify(), ...r3].map(event => line(event)))
  await ingest([dir], db)
  // 5 + 3 before the restart, 2 after: a count that goes down from 8 to 2 is a new instance's, not -6 uses.
  t.same(await features(db), [
    { day: DAY, version: '1.0.0', name: 'exports', i: 1, u: 1, uses: 10 },
    { day: DAY, version: '1.0.0', name: 'webhooks', i: 1, u: 0, uses: 0 }
  ], 'a counter reported at 0 counts its installation as reporting, not as using')
  t.same(await query(db, 'SELECT instance_id = $$' + after.instanceId + '$$ AS after, uses::INTEGER AS uses FROM daily_instance_features WHERE name = $$exports$$ ORDER BY ALL'),
    [{ after: false, uses: 8 }, { after: true, uses: 2 }])
})

test('an installation whose instances report different values in a day counts under each: shares may sum to more than 100 %', async t => {
  const dir = t.testdir()
  const db = join(dir, 'fleet.duckdb')
  const id = anonymousId('two-values')
  const one = new App(id, '1.0.0', 3).fact('storage', 'sqlite')
  const two = new App(id, '1.0.0', 3).fact('storage', 'postgres')
  const changing = new App(anonymousId('changing'), '1.0.0', 3).fact('storage', 'sqlite')
  const morning = changing.report()
  changing.fact('storage', 'memory')
  const evening = changing.report()
  append(dir, DAY, [one.identify(), ...one.report(), two.identify(), ...two.report(), changing.identify(), ...morning, ...evening].map(event => line(event)))
  await ingest([dir], db)
  t.same(await facts(db), [
    { day: DAY, version: '1.0.0', name: 'storage', value: 'memory', i: 1, n: 1 },
    { day: DAY, version: '1.0.0', name: 'storage', value: 'postgres', i: 1, n: 1 },
    { day: DAY, version: '1.0.0', name: 'storage', value: 'sqlite', i: 2, n: 2 }
  ], '2 installations, 4 installation-values: one instance changing its value counts under both too')
})

/** Two installations over two days, both with facts and counters; the one `forget` is told to take out is `gone`. */
function featureFleet (dir: string): { gone: string } {
  const gone = new App(anonymousId('forget-features'), '1.0.0', 3).serve('/a', 'GET', 1).fact('storage', 'sqlite').use('exports', 4)
  const stays = new App(anonymousId('keep-features'), '1.0.0', 3).serve('/a', 'GET', 1).fact('storage', 'sqlite').use('exports', 1)
  append(dir, DAY, [gone.identify(), stays.identify(), ...gone.report(), ...stays.report()].map(event => line(event)))
  gone.use('exports', 2).fact('storage', 'memory')
  stays.use('exports', 3)
  append(dir, '2026-06-02', [...gone.report(2), ...stays.report()].map(event => line(event, '10:00:00', '2026-06-02')))
  return { gone: gone.anonymousId }
}

test('forget takes an installation out of the feature tables: they equal a fresh ingest of the files without it', async t => {
  const dir = t.testdir()
  const data = join(dir, 'data')
  const { gone } = featureFleet(data)
  const db = join(dir, 'fleet.duckdb')
  await ingest([data], db)
  const summary = await forget(gone, db, [data])
  t.same([summary.deleted.part_facts, summary.deleted.part_features], [2, 2], 'its part 1s\' facts and counts')
  const rebuilt = join(dir, 'rebuilt.duckdb')
  await ingest([data], rebuilt)
  t.same(await featureTables(db), await featureTables(rebuilt))
  t.same(await facts(db), [
    { day: DAY, version: '1.0.0', name: 'storage', value: 'sqlite', i: 1, n: 1 },
    { day: '2026-06-02', version: '1.0.0', name: 'storage', value: 'sqlite', i: 1, n: 1 }
  ])
})

test('prune leaves the feature tables as they were, and a later report still counts from what was pruned', async t => {
  const dir = t.testdir()
  const data = join(dir, 'data')
  const instance = new App(anonymousId('prune-features'), '1.0.0', 3).fact('storage', 'sqlite').use('exports', 5)
  append(data, '2026-01-01', [instance.identify(), ...instance.report()].map(event => line(event, '10:00:00', '2026-01-01')))
  const db = join(dir, 'fleet.duckdb')
  await ingest([data], db)
  const all = join(dir, 'all')
  cpSync(data, all, { recursive: true })
  const before = await featureTables(db)
  t.equal((await prune(data, 30, db, { now: Date.parse('2026-03-01T00:00:00Z') })).deleted.length, 1)
  t.same(await featureTables(db), before)

  instance.use('exports', 2)
  const later = instance.report().map(event => line(event, '10:00:00', '2026-03-01'))
  for (const root of [data, all]) append(root, '2026-03-01', later)
  await ingest([data], db)
  await ingest([all], join(dir, 'all.duckdb'))
  t.same(await featureTables(db), await featureTables(join(dir, 'all.duckdb')), 'as if nothing had been pruned')
  t.same((await features(db)).map(row => (row as { uses: number }).uses), [5, 2], 'the later report counts its 2 new uses, not 7')
})

test('export writes daily_facts and daily_features as Parquet, row for row', async t => {
  const dir = t.testdir()
  featureFleet(join(dir, 'data'))
  const db = join(dir, 'fleet.duckdb')
  await ingest([join(dir, 'data')], db)
  const files = await exportParquet(db, join(dir, 'parquet'))
  for (const table of ['daily_facts', 'daily_features']) {
    const file = files.find(f => f.endsWith(`/${table}.parquet`))
    t.ok(file, `${table}.parquet written`)
    const fromTable = await query(db, `SELECT * FROM ${table} ORDER BY ALL`)
    t.ok(fromTable.length > 0, `${table} has rows`)
    t.same(await query(db, `SELECT * FROM read_parquet('${String(file)}') ORDER BY ALL`), fromTable)
  }
})
