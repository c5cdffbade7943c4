// What the forget and prune tests share: a simulated fleet ingested, its events counted, and a database snapshot
// that two databases built in different orders can be compared by.
import { join } from 'node:path'

import type { runAnalysisCommand } from '../../../lib/analysis/cli'
import { openDatabase, rows } from '../../../lib/analysis/db'
import { ingest } from '../../../lib/analysis/ingest/ingest'
import { simulate } from '../../../lib/analysis/simulate'
import { readEvents } from '../../../lib/reader'

export function capture (): Parameters<typeof runAnalysisCommand>[2] & { text: { out: string, err: string } } {
  const text = { out: '', err: '' }
  return { text, out: { write: (s: string) => { text.out += s } }, err: { write: (s: string) => { text.err += s } } }
}

/** The tables of feature facts and counters, raw and derived: a simulated fleet fills every one. */
export const FEATURE_TABLES = ['part_facts', 'part_features', 'daily_instance_facts', 'daily_instance_features', 'daily_facts', 'daily_features']

/**
 * Every table a report or an export reads from, comparable across two databases: record ids (numbered in reading
 * order) replaced by what they stand for, doubles (sums whose order of addition differs) rounded, file paths made
 * relative to `root`.
 */
export async function snapshot (dbPath: string, root: string): Promise<Record<string, unknown>> {
  const db = await openDatabase(dbPath, { create: false })
  const doubles = async (table: string): Promise<string> => {
    const columns = (await rows(db.connection, `SELECT column_name AS c FROM duckdb_columns() WHERE table_name = '${table}' AND data_type = 'DOUBLE'`)).map(r => r.c as string)
    return columns.length === 0 ? '*' : `* REPLACE (${columns.map(c => `round(${c}, 6) AS ${c}`).join(', ')})`
  }
  const queries: Record<string, string> = {
    events: 'SELECT * FROM events',
    parts: 'SELECT * EXCLUDE (first_rid) FROM parts',
    records: 'SELECT * EXCLUDE (rid) FROM records',
    record_status: 'SELECT r.report_id, r.part, r.endpoint, r.method, s.code, s.n FROM record_status s JOIN records r USING (rid)',
    links: 'SELECT l.* EXCLUDE (rid, prid), p.report_id AS previous_report, p.part AS previous_part FROM links l LEFT JOIN records p ON p.rid = l.prid',
    ingest_files: `SELECT replace(file, '${root}', '') AS file, source_id, received_day, "offset", size FROM ingest_files`
  }
  try {
    for (const table of ['installations', 'instances', 'activity', 'reports', 'traffic', 'daily_instance_traffic', 'daily_traffic', 'installation_traffic', 'memory_by_version',
      ...FEATURE_TABLES]) {
      queries[table] = `SELECT ${await doubles(table)} FROM ${table}`
    }
    const tables: Record<string, unknown> = {}
    for (const [name, sql] of Object.entries(queries)) tables[name] = await rows(db.connection, `${sql} ORDER BY ALL`)
    return tables
  } finally {
    db.close()
  }
}

export interface Fleet { data: string, db: string, id: string }

/** A simulated fleet of 3 installations over 2 days (one file a day) in `dir`, ingested; `id` is one installation's cluster id. */
export async function fleet (dir: string): Promise<Fleet> {
  const data = join(dir, 'data')
  await simulate({ installations: 3, days: 2, out: data, seed: 3 })
  const db = join(dir, 'fleet.duckdb')
  await ingest([data], db)
  const conn = await openDatabase(db)
  const [{ id }] = await rows(conn.connection, 'SELECT min(anonymous_id) AS id FROM installations')
  conn.close()
  return { data, db, id: id as string }
}

/** Events stored under `dir` (a data dir or one file's day directory), and how many of them are of installation `id`. */
export async function eventsOf (dir: string, id: string): Promise<{ all: number, theirs: number }> {
  let all = 0
  let theirs = 0
  for await (const event of readEvents(dir)) {
    all++
    if (event.anonymousId === id) theirs++
  }
  return { all, theirs }
}
