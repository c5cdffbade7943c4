import { join } from 'node:path'
import fc from 'fast-check'
import { test } from 'tap'
import { openDatabase, rows } from '../../lib/analysis/db'
import { ingest } from '../../lib/analysis/ingest/ingest'
import { App, anonymousId, append, stored } from './helpers/events'

// The derived tables are updated incrementally (only what new events can change); this proves that ingesting a
// fleet's files in several runs, split anywhere, gives exactly the tables one run gives.

const TABLES = ['events', 'parts', 'records', 'record_status', 'installations', 'instances', 'activity', 'reports', 'links',
  'traffic', 'daily_instance_traffic', 'daily_traffic', 'installation_traffic', 'memory_by_version', 'part_facts',
  'part_features', 'daily_instance_facts', 'daily_instance_features', 'daily_facts', 'daily_features']

interface Line { line: string, day: string, file: string }

/** A small fleet whose lines arrive out of order: late parts and identifies, a report overtaken, duplicates, a restart. */
function fleet (): Line[] {
  const lines: Line[] = []
  const at = (day: string, n: number): string => `2026-04-0${day}T${String(n % 24).padStart(2, '0')}:00:00.000Z`
  const add = (day: string, event: Record<string, unknown>, file = 'a.gz'): void => {
    lines.push({ line: stored(event, at(day, lines.length)), day: `2026-04-0${day}`, file })
  }
  const one = new App(anonymousId('incremental-one'), '1.0.0')
  add('1', one.identify())
  one.serve('/a', 'GET', 3).serve('/a', 'POST', 1, { status: 500 })
  const r1 = one.report()
  one.serve('/a', 'GET', 2).serve('/b', 'GET', 5, { aborted: 1 })
  const r2 = one.report(2)
  one.serve('/b', 'GET', 4, { bucket: 13 })
  one.report() // lost
  one.serve('/a', 'GET', 1)
  const r4 = one.report()
  add('1', r1[0])
  add('1', one.keepAlive())
  add('1', r2[0])
  add('2', r4[0]) // overtakes r2, whose second part comes later
  add('2', { type: 'track', event: 'other', anonymousId: one.anonymousId, messageId: 'no-instance-1', properties: {} })
  const restarted = new App(one.anonymousId, '1.1.0', 3)
  restarted.serve('/a', 'GET', 7).fact('storage', 'sqlite').use('exports', 2)
  const r5 = restarted.report()
  add('2', restarted.identify())
  add('2', r5[0])
  add('2', r2[1]) // the late part completes r2 and changes r4's delta
  const three = new App(anonymousId('incremental-three'), '1.1.0', 3)
  three.fact('storage', 'postgres').use('exports', 4).use('webhooks')
  const t1 = three.report(2)
  three.fact('storage', 'sqlite').use('exports', 1)
  const t2 = three.report()
  three.use('webhooks', 5)
  const t3 = three.report()
  add('1', three.identify())
  add('1', t1[1])
  add('2', t2[0]) // overtakes t1, whose part 1 (with the facts and counts) comes later
  add('2', t3[0])
  add('3', t1[0]) // completes t1 and changes t2's deltas
  const two = new App(anonymousId('incremental-two'), '2.0.0', 1)
  two.serve('/x', 'GET', 6).serve('/y', 'PUT', 2)
  const s1 = two.report(3)
  two.serve('/x', 'GET', 1)
  const s2 = two.report()
  add('2', s1[0])
  add('2', s1[1])
  add('3', s2[0]) // counts only once s1 is complete, and its identify (version) arrives last
  add('3', r1[0], 'b.gz') // a batch stored twice
  add('3', s1[2])
  add('3', two.identify())
  add('3', r5[0], 'b.gz')
  return lines
}

async function snapshot (dbPath: string): Promise<Record<string, unknown>> {
  const db = await openDatabase(dbPath)
  try {
    const tables: Record<string, unknown> = {}
    for (const table of TABLES) tables[table] = await rows(db.connection, `SELECT * FROM ${table} ORDER BY ALL`)
    tables.ingest_files = await rows(db.connection, 'SELECT * EXCLUDE (ingested_at) FROM ingest_files ORDER BY ALL')
    return tables
  } finally {
    db.close()
  }
}

/** Appends lines[from, to) as one gzip member per file they go to. */
function write (dir: string, lines: Line[], from: number, to: number): void {
  const groups = new Map<string, Line[]>()
  for (const line of lines.slice(from, to)) {
    const key = `${line.day}/${line.file}`
    groups.set(key, [...(groups.get(key) ?? []), line])
  }
  for (const group of groups.values()) append(dir, group[0].day, group.map(l => l.line), { name: group[0].file })
}

test('ingesting in several runs, split anywhere, yields exactly the tables of one run', async t => {
  const lines = fleet()
  const root = t.testdir()
  let n = 0
  await fc.assert(fc.asyncProperty(
    fc.uniqueArray(fc.integer({ min: 1, max: lines.length - 1 }), { maxLength: 4 }).map(points => [...points].sort((a, b) => a - b)),
    async points => {
      const bounds = [0, ...points, lines.length]
      const once = join(root, `once-${n}`)
      const runs = join(root, `runs-${n++}`)
      for (let i = 1; i < bounds.length; i++) write(once, lines, bounds[i - 1], bounds[i])
      await ingest([once], join(once, 'fleet.duckdb'))
      for (let i = 1; i < bounds.length; i++) {
        write(runs, lines, bounds[i - 1], bounds[i])
        await ingest([runs], join(runs, 'fleet.duckdb'))
      }
      const expected = await snapshot(join(once, 'fleet.duckdb'))
      const actual = JSON.parse(JSON.stringify(await snapshot(join(runs, 'fleet.duckdb'))).replaceAll(`runs-${n - 1}`, `once-${n - 1}`))
      t.same(actual, expected, `split at ${JSON.stringify(points)}`)
    }
  ), { numRuns: 8, examples: [[[]], [[1, 5, 9, 13]], [[lines.length - 1]]] })
})

/** The whole fleet ingested in one run into `dir`, its database open. */
async function ingestedFleet (dir: string): ReturnType<typeof openDatabase> {
  const lines = fleet()
  write(dir, lines, 0, lines.length)
  await ingest([dir], join(dir, 'fleet.duckdb'))
  return await openDatabase(join(dir, 'fleet.duckdb'))
}

test('the fleet in one run counts every delivered request exactly once', async t => {
  const db = await ingestedFleet(t.testdir())
  try {
    // one: r4 covers everything but the lost report's successor (3 + 1 + 2 + 5 + 4 + 1 = 16), restarted: 7; two: 6 + 2 + 1.
    t.same(await rows(db.connection, 'SELECT version, sum(requests)::INTEGER AS n FROM daily_traffic GROUP BY version ORDER BY version'),
      [{ version: '1.0.0', n: 16 }, { version: '1.1.0', n: 7 }, { version: '2.0.0', n: 9 }])
    t.same(await rows(db.connection, 'SELECT count(*)::INTEGER AS n FROM activity WHERE instance_id IS NULL'), [{ n: 1 }])
  } finally {
    db.close()
  }
})

test('feature counts become uses per day (the first report counts whole), facts count each installation under each value it reported', async t => {
  const db = await ingestedFleet(t.testdir())
  try {
    // restarted (day 2): exports 2. three: t1 (day 3) exports 4, webhooks 1; t2 (day 2) exports +1; t3 (day 2) webhooks +5.
    t.same(await rows(db.connection, 'SELECT day::VARCHAR AS day, name, installations::INTEGER AS i, installations_using::INTEGER AS u, uses::INTEGER AS uses FROM daily_features ORDER BY ALL'), [
      { day: '2026-04-02', name: 'exports', i: 2, u: 2, uses: 3 },
      { day: '2026-04-02', name: 'webhooks', i: 1, u: 1, uses: 5 },
      { day: '2026-04-03', name: 'exports', i: 1, u: 1, uses: 4 },
      { day: '2026-04-03', name: 'webhooks', i: 1, u: 1, uses: 1 }
    ])
    t.same(await rows(db.connection, 'SELECT day::VARCHAR AS day, name, value, installations::INTEGER AS i FROM daily_facts ORDER BY ALL'), [
      { day: '2026-04-02', name: 'storage', value: 'sqlite', i: 2 },
      { day: '2026-04-03', name: 'storage', value: 'postgres', i: 1 }
    ])
  } finally {
    db.close()
  }
})
