import { readFileSync } from 'node:fs'
import { join } from 'node:path'
import Ajv2020, { type ValidateFunction } from 'ajv/dist/2020'
import addFormats from 'ajv-formats'
import { test } from 'tap'
import { openDatabase, rows } from '../../lib/analysis/db'
import { exportParquet } from '../../lib/analysis/export'
import { ingest } from '../../lib/analysis/ingest/ingest'
import { simulate } from '../../lib/analysis/simulate'
import { readEvents } from '../../lib/reader'

/** The plugin's schemas for `schemaVersion` 1, 2 or 3 (the current one, which the receiver validates with), as the collector keeps them. */
function validator (kind: string, schemaVersion: 1 | 2 | 3): ValidateFunction {
  const dir = join(__dirname, '../../schema', schemaVersion === 3 ? 'plugin' : `v${schemaVersion}`)
  const ajv = new Ajv2020({ allErrors: true, strict: false })
  addFormats(ajv)
  return ajv.compile(JSON.parse(readFileSync(join(dir, `${kind}.json`), 'utf8')))
}

for (const schemaVersion of [1, 2, 3] as const) {
  test(`simulated schemaVersion ${schemaVersion} events validate against the plugin's JSON Schemas, in Segment's layout`, async t => {
    const out = t.testdir()
    const summary = await simulate({ installations: 2, days: 2, out, seed: 7, schemaVersion })
    const validate = { identify: validator('identify', schemaVersion), telemetry: validator('telemetry', schemaVersion), 'keep-alive': validator('keep-alive', schemaVersion) }
    let events = 0
    const invalid: string[] = []
    const kinds = new Set<string>()
    let withFeatures = 0
    for await (const stored of readEvents(out)) {
      events++
      const { receivedAt, sentAt, ...event } = stored
      const kind = (event.type === 'identify' ? 'identify' : event.event) as keyof typeof validate
      kinds.add(kind)
      if (!validate[kind](event) || typeof receivedAt !== 'string' || sentAt !== receivedAt) invalid.push(JSON.stringify(validate[kind].errors?.slice(0, 2)))
      const properties = event.properties as { facts?: { storage?: string }, features?: { 'search.queries'?: number } } | undefined
      if (properties?.facts?.storage !== undefined && properties.features?.['search.queries'] !== undefined) withFeatures++
    }
    t.same(invalid, [], 'every stored event is valid and carries receivedAt and sentAt')
    t.equal(withFeatures > 0, schemaVersion === 3, 'facts and counters from schemaVersion 3 on')
    t.equal(events, summary.events)
    t.same([...kinds].sort(), ['identify', 'keep-alive', 'telemetry'])
    t.equal(summary.files, 2)
    t.ok(readFileSync(join(out, 'segment-logs/simulated/1767225600000/simulated-7.gz')).length > 0, 'receivedDay is the Unix ms of the UTC midnight')
  })
}

test('the model counts exactly the requests behind every instance\'s last delivered report of a simulated fleet', async t => {
  const out = t.testdir()
  const summary = await simulate({ installations: 4, days: 3, out, seed: 3 })
  const db = join(out, 'fleet.duckdb')
  const ingested = await ingest([out], db)
  t.ok(ingested.duplicates > 0, 'the fleet has duplicate batches')
  const conn = await openDatabase(db)
  t.teardown(() => conn.close())
  const [daily] = await rows(conn.connection, 'SELECT sum(requests) AS n, count(DISTINCT version) AS versions FROM daily_traffic')
  const [split] = await rows(conn.connection, 'SELECT count(*) FILTER (WHERE parts > 1) AS n FROM reports')
  const [perInstallation] = await rows(conn.connection, 'SELECT sum(requests) AS n FROM installation_traffic')
  t.equal(Number(daily.n), summary.requests)
  t.equal(Number(perInstallation.n), summary.requests)
  t.ok(Number(split.n) > 0, 'some reports were split into parts')
  t.ok(Number(daily.versions) >= 1)
})

test('the facts and counts a simulated fleet sends are what daily_facts and daily_features hold', async t => {
  const out = t.testdir()
  // 10 installations over 8 days: 1.1.0 comes out on day 8, and one installation moves to postgres at a restart.
  const sent = await simulate({ installations: 10, days: 8, out, seed: 43 })
  const db = join(out, 'fleet.duckdb')
  await ingest([out], db)
  const conn = await openDatabase(db)
  t.teardown(() => conn.close())
  const sorted = <T>(list: T[]): T[] => list.map(row => JSON.stringify(row)).sort().map(row => JSON.parse(row))
  t.same(await rows(conn.connection, `SELECT strftime(day, '%Y-%m-%d') AS day, version, name, value, installations::INTEGER AS installations,
    instances::INTEGER AS instances FROM daily_facts`).then(sorted), sorted(sent.facts), 'installations and instances per day, version and fact value')
  t.same(await rows(conn.connection, `SELECT strftime(day, '%Y-%m-%d') AS day, version, name, installations::INTEGER AS installations,
    installations_using::INTEGER AS "installationsUsing", uses::INTEGER AS uses FROM daily_features`).then(sorted), sorted(sent.features),
  'installations reporting and using, and uses, per day, version and counter')

  const values = new Set(sent.facts.map(r => `${r.name}=${r.value}`))
  t.same([...values].sort(), ['cache=memory', 'cache=none', 'cache=redis', 'storage=memory', 'storage=postgres', 'storage=sqlite'], 'every installation sets both facts (`cache=other`, 3 %, is not among these 10)')
  const [moved] = await rows(conn.connection, "SELECT count(*)::INTEGER AS n FROM (SELECT anonymous_id FROM daily_instance_facts WHERE name = 'storage' GROUP BY ALL HAVING count(DISTINCT value) > 1)")
  t.equal(moved.n, 1, 'one installation reported two storage backends')
  const newest = sent.features.filter(r => r.name === 'recommendations')
  t.ok(newest.length > 0 && newest.every(r => r.version === '1.1.0'), 'recommendations is counted in the newest version only')
  const rare = sent.features.filter(r => r.name === 'admin.bulk_edit')
  t.ok(rare.some(r => r.installationsUsing > 0) && rare.every(r => r.installationsUsing < 5), 'admin.bulk_edit is used by fewer installations than the default floor')
  t.ok(sent.features.some(r => r.installationsUsing < r.installations && r.installationsUsing > 0), 'some installations report a counter they do not use')
})

test('the same seed writes the same fleet', async t => {
  const [a, b] = [t.testdir({ a: {} }), t.testdir({ b: {} })]
  const one = await simulate({ installations: 1, days: 1, out: a, seed: 5, start: '2026-05-01' })
  const two = await simulate({ installations: 1, days: 1, out: b, seed: 5, start: '2026-05-01' })
  t.same(one, two)
})

test('export writes every roll-up table as Parquet, without the write key', async t => {
  const out = t.testdir()
  await simulate({ installations: 1, days: 1, out, seed: 2 })
  const db = join(out, 'fleet.duckdb')
  await ingest([out], db)
  const files = await exportParquet(db, join(out, 'parquet'))
  t.same(files.map(f => f.split('/').pop()), ['daily_traffic.parquet', 'installation_traffic.parquet', 'memory_by_version.parquet', 'activity.parquet', 'installations.parquet',
    'daily_facts.parquet', 'daily_features.parquet'])
  const conn = await openDatabase(db)
  t.teardown(() => conn.close())
  const [fromParquet] = await rows(conn.connection, `SELECT sum(requests) AS n FROM read_parquet('${files[0]}')`)
  const [fromTable] = await rows(conn.connection, 'SELECT sum(requests) AS n FROM daily_traffic')
  t.equal(fromParquet.n, fromTable.n)
})
