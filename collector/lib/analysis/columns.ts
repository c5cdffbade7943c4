// The columns of the tables ingest writes row by row, declared once, by name: flatten.ts builds their rows, stage.ts
// creates and fills them, model.ts declares the stored ones. Adding a column is one edit here; writing it is then
// checked by the compiler (`EVENTS.at.kind`), and each name becomes its index once, when this module loads.
//
// The parse workers load this file: it imports nothing.

export const LATENCY_BUCKETS = 14
export const SIZE_BUCKETS = 10
export const LATENCY_COLUMNS = Array.from({ length: LATENCY_BUCKETS }, (_, i) => `l${i + 1}`)
export const SIZE_COLUMNS = Array.from({ length: SIZE_BUCKETS }, (_, i) => `s${i + 1}`)

/**
 * A column's DuckDB type. Every number is built as a double (JSON numbers are doubles, and they travel in
 * Float64Arrays): a BIGINT column is staged as DOUBLE and cast by the appender (a value out of range would fail the
 * whole append, so flatten.ts checks it) or, for the staged tables, by the load query.
 */
export type ColumnType = 'VARCHAR' | 'DOUBLE' | 'INTEGER' | 'BIGINT'
export type ColumnSpec = [name: string, type: ColumnType]

export interface Table<Name extends string> {
  /** The table rows are appended to (a temporary one for the staged tables). */
  name: string
  /** Every column in order: the named ones, then the tail. */
  columns: ColumnSpec[]
  /** Each named column's index. */
  at: Readonly<Record<Name, number>>
}

function table<const Spec extends Record<string, ColumnType>> (name: string, named: Spec, tail: ColumnSpec[] = []): Table<keyof Spec & string> {
  const columns = [...Object.entries(named), ...tail] as ColumnSpec[]
  return { name, columns, at: Object.fromEntries(columns.map(([column], index) => [column, index])) as Record<keyof Spec & string, number> }
}

/** The index of each of `names` in `of` (for the tail columns, which have no names in `at`). */
export const indexesOf = (of: Table<string>, names: string[]): number[] => names.map(name => of.columns.findIndex(([column]) => column === name))

/** `<name> <type>, …`: the column list of a CREATE TABLE. */
export const columnList = (of: Table<string>): string => of.columns.map(([column, type]) => `${column} ${type}`).join(', ')

/** One row per event (load moves the new ones into `events`). */
export const EVENTS = table('staged_events', {
  seq: 'INTEGER',
  message_id: 'VARCHAR',
  source_id: 'VARCHAR',
  kind: 'VARCHAR',
  anonymous_id: 'VARCHAR',
  instance_id: 'VARCHAR',
  schema_version: 'INTEGER',
  received_ms: 'DOUBLE',
  properties: 'VARCHAR'
})

/** One row per telemetry report part (load moves the new ones into `parts`); its records have the ids first_rid … first_rid + records - 1. */
export const PARTS = table('staged_parts', {
  seq: 'INTEGER',
  report_id: 'VARCHAR',
  part: 'INTEGER',
  parts: 'INTEGER',
  instance_id: 'VARCHAR',
  anonymous_id: 'VARCHAR',
  schema_version: 'INTEGER',
  uptime: 'DOUBLE',
  received_ms: 'DOUBLE',
  rss: 'DOUBLE',
  heap_used: 'DOUBLE',
  first_rid: 'DOUBLE',
  records: 'INTEGER'
})

/** A record's cumulative counters, flat: what the delta between a record and its predecessor subtracts. */
const COUNTER_TYPES = {
  requests: 'BIGINT',
  responses: 'BIGINT',
  aborted: 'BIGINT',
  latency_sum: 'DOUBLE',
  size_unknown: 'BIGINT',
  size_sum: 'DOUBLE'
} as const
const BUCKETS: ColumnSpec[] = [...LATENCY_COLUMNS, ...SIZE_COLUMNS].map(column => [column, 'BIGINT'])
export const COUNTERS = [...Object.keys(COUNTER_TYPES), ...LATENCY_COLUMNS, ...SIZE_COLUMNS]

/** One row per (endpoint, method) metrics record of a part, appended straight to the database's `records`. */
export const RECORDS = table('records', {
  rid: 'BIGINT',
  report_id: 'VARCHAR',
  part: 'INTEGER',
  endpoint: 'VARCHAR',
  method: 'VARCHAR',
  ...COUNTER_TYPES
}, BUCKETS)
export const LATENCY_AT = indexesOf(RECORDS, LATENCY_COLUMNS)
export const SIZE_AT = indexesOf(RECORDS, SIZE_COLUMNS)

/** One row per status code of a record, appended straight to the database's `record_status`. */
export const STATUSES = table('record_status', {
  rid: 'BIGINT',
  code: 'VARCHAR',
  n: 'BIGINT'
})

/** One row per fact of a report's part 1 (load moves those of new parts into `part_facts`). */
export const FACTS = table('staged_facts', {
  seq: 'INTEGER',
  name: 'VARCHAR',
  value: 'VARCHAR'
})

/** One row per feature counter of a report's part 1, its cumulative count (load moves those of new parts into `part_features`). */
export const FEATURES = table('staged_features', {
  seq: 'INTEGER',
  name: 'VARCHAR',
  n: 'BIGINT'
})

/**
 * Every table of the database, by what its rows say of an installation (a cluster id, the events' `anonymous_id`), so
 * that `forget` (forget.ts) reaches each one. A table added to model.ts must be added here: a test fails on any table
 * of the schema missing from these lists.
 *
 * The raw tables, children first: each row's installation is its own `anonymous_id`, or its parent's (joined on
 * `on`). forget deletes these rows, then brings the derived tables up to date as ingest does.
 */
export const RAW_INSTALLATION_TABLES: ReadonlyArray<{ name: string, parent?: string, on?: string[] }> = [
  { name: 'record_status', parent: 'records', on: ['rid'] },
  { name: 'part_facts', parent: 'parts', on: ['report_id', 'part'] },
  { name: 'part_features', parent: 'parts', on: ['report_id', 'part'] },
  { name: 'records', parent: 'parts', on: ['report_id', 'part'] },
  { name: 'parts' },
  { name: 'events' }
]
/** The derived tables with an `anonymous_id` column: recomputed by forget, then any row still naming it is deleted. */
export const DERIVED_INSTALLATION_TABLES = [
  'installations', 'instances', 'activity', 'reports', 'links', 'daily_instance_traffic', 'installation_traffic',
  'daily_instance_facts', 'daily_instance_features'
]
/**
 * The other tables: fleet-wide sums (recomputed from the others), ingest's bookkeeping (ingest_dirty is empty once
 * an update has run), and `forgotten`, the cluster ids forgotten, which ingest keeps out.
 */
export const FLEET_TABLES = ['daily_traffic', 'daily_facts', 'daily_features', 'ingest_model', 'ingest_state', 'ingest_files', 'ingest_dirty', 'forgotten']
