import { DOUBLE, INTEGER, VARCHAR, type DuckDBConnection } from '@duckdb/node-api'
import { StagedTable } from './stage'

// An event parsed in Node becomes rows of staged tables: the event, its report part (telemetry only), one row per
// (endpoint, method) metrics record of the part and one per status code of such a record. Only named fields are
// read, so nothing else a line carries (Segment's `writeKey`) goes anywhere. Values of the wrong type are staged as NULL.

export const LATENCY_BUCKETS = 14
export const SIZE_BUCKETS = 10

type Column = [name: string, type: typeof VARCHAR | typeof DOUBLE | typeof INTEGER]
const numbers = (...names: string[]): Column[] => names.map(name => [name, DOUBLE])

// Numbers are staged as DOUBLE (JSON numbers are doubles) and cast to BIGINT by the load query.
const EVENT_COLUMNS: Column[] = [['seq', INTEGER], ['message_id', VARCHAR], ['source_id', VARCHAR], ['kind', VARCHAR],
  ['anonymous_id', VARCHAR], ['instance_id', VARCHAR], ['schema_version', INTEGER], ['received_ms', DOUBLE], ['properties', VARCHAR]]
const PART_COLUMNS: Column[] = [['seq', INTEGER], ['report_id', VARCHAR], ['part', INTEGER], ['parts', INTEGER],
  ['instance_id', VARCHAR], ['anonymous_id', VARCHAR], ['schema_version', INTEGER], ...numbers('uptime', 'received_ms', 'rss', 'heap_used')]
export const LATENCY_COLUMNS = Array.from({ length: LATENCY_BUCKETS }, (_, i) => `l${i + 1}`)
export const SIZE_COLUMNS = Array.from({ length: SIZE_BUCKETS }, (_, i) => `s${i + 1}`)
// `rec` numbers the records of a stage in the order read, which orders their ids (`records.rid`) in the load.
const RECORD_COLUMNS: Column[] = [['seq', INTEGER], ['rec', INTEGER], ['key', INTEGER],
  ...numbers('requests', 'responses', 'aborted', 'latency_sum', 'size_unknown', 'size_sum', ...LATENCY_COLUMNS, ...SIZE_COLUMNS)]
const STATUS_COLUMNS: Column[] = [['rec', INTEGER], ['code', VARCHAR], ['n', DOUBLE]]
const KEY_COLUMNS: Column[] = [['key', INTEGER], ['endpoint', VARCHAR], ['method', VARCHAR]]

type Json = Record<string, unknown>

const isObject = (value: unknown): value is Json => typeof value === 'object' && value !== null && !Array.isArray(value)
const text = (value: unknown): string | null => typeof value === 'string' ? value : null
const number = (value: unknown): number | null => typeof value === 'number' && Number.isFinite(value) ? value : null
const int32 = (value: unknown): number | null => Number.isInteger(value) && Math.abs(value as number) < 2 ** 31 ? value as number : null

export class Stage {
  private seq = 0
  private rec = 0
  /** endpoint -> method -> key of the (endpoint, method) pair, staged once per run in `staged_keys`. */
  private readonly keys = new Map<string, Map<string, number>>()
  private keyCount = 0

  private constructor (readonly connection: DuckDBConnection, readonly events: StagedTable, readonly parts: StagedTable, readonly records: StagedTable, readonly statuses: StagedTable, readonly pairs: StagedTable) {}

  static async create (connection: DuckDBConnection): Promise<Stage> {
    return new Stage(
      connection,
      await StagedTable.create(connection, 'staged_events', EVENT_COLUMNS),
      await StagedTable.create(connection, 'staged_parts', PART_COLUMNS),
      await StagedTable.create(connection, 'staged_records', RECORD_COLUMNS),
      await StagedTable.create(connection, 'staged_status', STATUS_COLUMNS),
      await StagedTable.create(connection, 'staged_keys', KEY_COLUMNS)
    )
  }

  private key (endpoint: string, method: string): number {
    let methods = this.keys.get(endpoint)
    if (methods === undefined) this.keys.set(endpoint, methods = new Map())
    let key = methods.get(method)
    if (key === undefined) {
      methods.set(method, key = this.keyCount++)
      this.pairs.put(0, key)
      this.pairs.put(1, endpoint)
      this.pairs.put(2, method)
      this.pairs.next()
    }
    return key
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
    p.next()
    if (isObject(props.paths)) this.addRecords(seq, props.paths)
  }

  private addRecords (seq: number, paths: Json): void {
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
        const rec = this.rec++
        r.put(0, seq)
        r.put(1, rec)
        r.put(2, this.key(endpoint, method))
        r.put(3, number(record.requests))
        r.put(4, number(record.responses))
        r.put(5, number(record.aborted))
        r.put(6, number(latency.sum))
        r.put(7, number(size.unknown))
        r.put(8, number(size.sum))
        const lb = Array.isArray(latency.buckets) ? latency.buckets : []
        for (let i = 0; i < LATENCY_BUCKETS; i++) r.put(9 + i, number(lb[i]))
        const sb = Array.isArray(size.buckets) ? size.buckets : []
        for (let i = 0; i < SIZE_BUCKETS; i++) r.put(9 + LATENCY_BUCKETS + i, number(sb[i]))
        r.next()
        if (isObject(record.status)) this.addStatus(rec, record.status)
      }
    }
  }

  /** The counts that are integers (what a BIGINT holds), one row per status code. */
  private addStatus (rec: number, status: Json): void {
    const s = this.statuses
    for (const code in status) {
      const n = status[code]
      if (!Number.isSafeInteger(n)) continue
      s.put(0, rec)
      s.put(1, code)
      s.put(2, n as number)
      s.next()
    }
  }

  /** Makes every staged row visible to the load query. */
  flush (): void {
    for (const table of [this.events, this.parts, this.records, this.statuses, this.pairs]) table.flush()
  }

  close (): void {
    for (const table of [this.events, this.parts, this.records, this.statuses, this.pairs]) table.close()
  }
}
