import { DOUBLE, INTEGER, VARCHAR, type DuckDBConnection } from '@duckdb/node-api'
import { StagedTable } from './stage'

// An event parsed in Node becomes rows: of staged tables for the event and its report part (telemetry only), and,
// appended straight to `records` and `record_status`, one row per (endpoint, method) metrics record of the part and
// one per status code of such a record. Only named fields are read, so nothing else a line carries (Segment's
// `writeKey`) goes anywhere. Values of the wrong type are staged as NULL.

export const LATENCY_BUCKETS = 14
export const SIZE_BUCKETS = 10

type Column = [name: string, type: typeof VARCHAR | typeof DOUBLE | typeof INTEGER]
const numbers = (...names: string[]): Column[] => names.map(name => [name, DOUBLE])

// Numbers are staged as DOUBLE (JSON numbers are doubles) and cast to BIGINT by the load query or, for records, by
// the appender.
const EVENT_COLUMNS: Column[] = [['seq', INTEGER], ['message_id', VARCHAR], ['source_id', VARCHAR], ['kind', VARCHAR],
  ['anonymous_id', VARCHAR], ['instance_id', VARCHAR], ['schema_version', INTEGER], ['received_ms', DOUBLE], ['properties', VARCHAR]]
// A part's records have the ids first_rid … first_rid + records - 1.
const PART_COLUMNS: Column[] = [['seq', INTEGER], ['report_id', VARCHAR], ['part', INTEGER], ['parts', INTEGER],
  ['instance_id', VARCHAR], ['anonymous_id', VARCHAR], ['schema_version', INTEGER], ...numbers('uptime', 'received_ms', 'rss', 'heap_used', 'first_rid'),
  ['records', INTEGER]]
export const LATENCY_COLUMNS = Array.from({ length: LATENCY_BUCKETS }, (_, i) => `l${i + 1}`)
export const SIZE_COLUMNS = Array.from({ length: SIZE_BUCKETS }, (_, i) => `s${i + 1}`)
// The columns of `records` and `record_status` (model.ts), in their order.
const RECORD_COLUMNS: Column[] = [['rid', DOUBLE], ['report_id', VARCHAR], ['part', INTEGER], ['endpoint', VARCHAR], ['method', VARCHAR],
  ...numbers('requests', 'responses', 'aborted', 'latency_sum', 'size_unknown', 'size_sum', ...LATENCY_COLUMNS, ...SIZE_COLUMNS)]
const STATUS_COLUMNS: Column[] = [['rid', DOUBLE], ['code', VARCHAR], ['n', DOUBLE]]

type Json = Record<string, unknown>

const isObject = (value: unknown): value is Json => typeof value === 'object' && value !== null && !Array.isArray(value)
const text = (value: unknown): string | null => typeof value === 'string' ? value : null
const number = (value: unknown): number | null => typeof value === 'number' && Number.isFinite(value) ? value : null
const int32 = (value: unknown): number | null => Number.isInteger(value) && Math.abs(value as number) < 2 ** 31 ? value as number : null
/** A number the appender's cast to BIGINT takes (a value it cannot take would fail the whole append). */
const count = (value: unknown): number | null => typeof value === 'number' && Math.abs(value) < 2 ** 63 ? value : null

/** The next record id, shared by the stages of a run so that ids follow the order records were read in. */
export interface RecordIds { next: number }

export class Stage {
  private seq = 0

  private constructor (readonly connection: DuckDBConnection, private readonly ids: RecordIds, readonly events: StagedTable, readonly parts: StagedTable, readonly records: StagedTable, readonly statuses: StagedTable) {}

  static async create (connection: DuckDBConnection, ids: RecordIds): Promise<Stage> {
    return new Stage(
      connection,
      ids,
      await StagedTable.create(connection, 'staged_events', EVENT_COLUMNS),
      await StagedTable.create(connection, 'staged_parts', PART_COLUMNS),
      await StagedTable.into(connection, 'records', RECORD_COLUMNS),
      await StagedTable.into(connection, 'record_status', STATUS_COLUMNS)
    )
  }

  /** Stages one event (its `messageId` is a string) from a file of `sourceId` received on `receivedDay` (Unix ms). */
  add (event: Json, sourceId: string, receivedDay: number): void {
    const seq = this.seq++
    const type = text(event.type)
    const kind = type === 'identify' ? 'identify' : type === 'track' ? text(event.event) : type
    const body = type === 'identify' ? event.traits : event.properties
    const props = isObject(body) ? body : {}
    const anonymousId = text(event.anonymousId)
    const instanceId = text(props.instanceId)
    const schemaVersion = int32(props.schemaVersion)
    const parsed = typeof event.receivedAt === 'string' ? Date.parse(event.receivedAt) : NaN
    const receivedMs = Number.isNaN(parsed) ? receivedDay : parsed
    const e = this.events
    e.put(0, seq)
    e.put(1, event.messageId as string)
    e.put(2, sourceId)
    e.put(3, kind)
    e.put(4, anonymousId)
    e.put(5, instanceId)
    e.put(6, schemaVersion)
    e.put(7, receivedMs)
    // A telemetry part's content lives in parts and records; its JSON (3 to 5 KB) is not kept twice.
    e.put(8, kind === 'telemetry' || body === undefined ? null : JSON.stringify(body))
    e.next()
    if (kind !== 'telemetry') return
    const reportId = text(props.reportId)
    const part = int32(props.part)
    const parts = int32(props.parts)
    const uptime = number(props.uptime)
    if (reportId === null || part === null || parts === null || instanceId === null || uptime === null) return
    const memory = isObject(props.memory) ? props.memory : {}
    const p = this.parts
    p.put(0, seq)
    p.put(1, reportId)
    p.put(2, part)
    p.put(3, parts)
    p.put(4, instanceId)
    p.put(5, anonymousId)
    p.put(6, schemaVersion)
    p.put(7, uptime)
    p.put(8, receivedMs)
    p.put(9, number(memory.rss))
    p.put(10, number(memory.heapUsed))
    const first = this.ids.next
    if (isObject(props.paths)) this.addRecords(reportId, part, props.paths)
    p.put(11, first)
    p.put(12, this.ids.next - first)
    p.next()
  }

  private addRecords (reportId: string, part: number, paths: Json): void {
    const r = this.records
    for (const endpoint in paths) {
      const entry = paths[endpoint]
      if (!isObject(entry) || !isObject(entry.methods)) continue
      const methods = entry.methods
      for (const method in methods) {
        const record = methods[method]
        if (!isObject(record)) continue
        const latency = isObject(record.latency) ? record.latency : {}
        const size = isObject(record.size) ? record.size : {}
        const rid = this.ids.next++
        r.put(0, rid)
        r.put(1, reportId)
        r.put(2, part)
        r.put(3, endpoint)
        r.put(4, method)
        r.put(5, count(record.requests))
        r.put(6, count(record.responses))
        r.put(7, count(record.aborted))
        r.put(8, number(latency.sum))
        r.put(9, count(size.unknown))
        r.put(10, number(size.sum))
        const lb = Array.isArray(latency.buckets) ? latency.buckets : []
        for (let i = 0; i < LATENCY_BUCKETS; i++) r.put(11 + i, count(lb[i]))
        const sb = Array.isArray(size.buckets) ? size.buckets : []
        for (let i = 0; i < SIZE_BUCKETS; i++) r.put(11 + LATENCY_BUCKETS + i, count(sb[i]))
        r.next()
        if (isObject(record.status)) this.addStatus(rid, record.status)
      }
    }
  }

  /** The counts that are integers (what a BIGINT holds), one row per status code. */
  private addStatus (rid: number, status: Json): void {
    const s = this.statuses
    for (const code in status) {
      const n = status[code]
      if (!Number.isSafeInteger(n)) continue
      s.put(0, rid)
      s.put(1, code)
      s.put(2, n as number)
      s.next()
    }
  }

  /** Makes every staged row visible to the load query (and appends the records and their status codes). */
  flush (): void {
    for (const table of [this.events, this.parts, this.records, this.statuses]) table.flush()
  }

  close (): void {
    for (const table of [this.events, this.parts, this.records, this.statuses]) table.close()
  }
}
