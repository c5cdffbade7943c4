// An event parsed in Node becomes rows: of staged tables for the event and its report part (telemetry only), and,
// appended straight to `records` and `record_status`, one row per (endpoint, method) metrics record of the part and
// one per status code of such a record. Only named fields are read, so nothing else a line carries (Segment's
// `writeKey`) goes anywhere. Values of the wrong type are staged as NULL.
//
// This runs in the parse worker (parse-worker.ts), so it builds plain columns that move to the main thread without
// a copy (numbers in Float64Arrays, NaN standing for NULL) and loads nothing of DuckDB's.

import { EVENTS, FACTS, FEATURES, LATENCY_AT, LATENCY_BUCKETS, PARTS, RECORDS, SIZE_AT, SIZE_BUCKETS, STATUSES, type ColumnSpec } from '../columns'

const E = EVENTS.at
const P = PARTS.at
const R = RECORDS.at
const S = STATUSES.at
const FA = FACTS.at
const FE = FEATURES.at

/** A column of rows: numbers (NaN is NULL) or strings. */
export type Column = Float64Array | Array<string | null>
/** Rows of one table, column by column. */
export interface Rows { count: number, columns: Column[] }
/** What a batch of events flattens into, one set of rows per table. */
export interface Tables { events: Rows, parts: Rows, records: Rows, statuses: Rows, facts: Rows, features: Rows }

const INITIAL_ROWS = 1024

/** Rows of one table built row by row; the numeric columns grow by doubling. */
class RowsBuilder {
  private columns: Column[] = []
  private count = 0

  constructor (private readonly specs: ColumnSpec[]) {
    this.reset()
  }

  private reset (): void {
    this.columns = this.specs.map(([, type]) => type === 'VARCHAR' ? [] : new Float64Array(INITIAL_ROWS))
    this.count = 0
  }

  /** Sets column `index` of the current row to a number (null is NULL). */
  number (index: number, value: number | null): void {
    let column = this.columns[index] as Float64Array
    if (this.count === column.length) {
      const grown = new Float64Array(column.length * 2)
      grown.set(column)
      column = this.columns[index] = grown
    }
    column[this.count] = value ?? NaN
  }

  /** Sets column `index` of the current row to a string (null is NULL). */
  text (index: number, value: string | null): void {
    (this.columns[index] as Array<string | null>)[this.count] = value
  }

  /** Ends the current row (every column of which was set). */
  next (): void {
    this.count++
  }

  /** The rows built so far; what is built next goes to new columns. */
  take (): Rows {
    const rows = { count: this.count, columns: this.columns.map(column => column instanceof Float64Array ? column.subarray(0, this.count) : column) }
    this.reset()
    return rows
  }
}

type Json = Record<string, unknown>

const isObject = (value: unknown): value is Json => typeof value === 'object' && value !== null && !Array.isArray(value)
const text = (value: unknown): string | null => typeof value === 'string' ? value : null
const number = (value: unknown): number | null => typeof value === 'number' && Number.isFinite(value) ? value : null
const int32 = (value: unknown): number | null => Number.isInteger(value) && Math.abs(value as number) < 2 ** 31 ? value as number : null
/** A number the appender's cast to BIGINT takes (a value it cannot take would fail the whole append). */
const count = (value: unknown): number | null => typeof value === 'number' && Math.abs(value) < 2 ** 63 ? value : null

/**
 * Moves the rows of a batch numbered from 0 (flattened on their own) to their place in the run: event and part
 * sequence numbers from `seq`, record ids (and the parts' first_rid) from `rid`.
 */
export function renumber ({ events, parts, records, statuses, facts, features }: Tables, seq: number, rid: number): void {
  const shift = (rows: Rows, column: number, by: number): void => {
    const values = rows.columns[column] as Float64Array
    for (let i = 0; i < rows.count; i++) values[i] += by
  }
  shift(events, E.seq, seq)
  shift(parts, P.seq, seq)
  shift(facts, FA.seq, seq)
  shift(features, FE.seq, seq)
  shift(parts, P.first_rid, rid)
  shift(records, R.rid, rid)
  shift(statuses, S.rid, rid)
}

/** Flattens events into rows numbered from 0 (seq for events and parts, rid for records) until they are taken. */
export class Flattener {
  private seq = 0
  private nextRid = 0
  private readonly events = new RowsBuilder(EVENTS.columns)
  private readonly parts = new RowsBuilder(PARTS.columns)
  private readonly records = new RowsBuilder(RECORDS.columns)
  private readonly statuses = new RowsBuilder(STATUSES.columns)
  private readonly facts = new RowsBuilder(FACTS.columns)
  private readonly features = new RowsBuilder(FEATURES.columns)

  /** Flattens one event (its `messageId` is a string) from a file of `sourceId` received on `receivedDay` (Unix ms). */
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
    e.number(E.seq, seq)
    e.text(E.message_id, event.messageId as string)
    e.text(E.source_id, sourceId)
    e.text(E.kind, kind)
    e.text(E.anonymous_id, anonymousId)
    e.text(E.instance_id, instanceId)
    e.number(E.schema_version, schemaVersion)
    e.number(E.received_ms, receivedMs)
    // A telemetry part's content lives in parts and records; its JSON (3 to 5 KB) is not kept twice.
    e.text(E.properties, kind === 'telemetry' || body === undefined ? null : JSON.stringify(body))
    e.next()
    if (kind !== 'telemetry') return
    const reportId = text(props.reportId)
    const part = int32(props.part)
    const parts = int32(props.parts)
    const uptime = number(props.uptime)
    if (reportId === null || part === null || parts === null || instanceId === null || uptime === null) return
    const memory = isObject(props.memory) ? props.memory : {}
    const p = this.parts
    p.number(P.seq, seq)
    p.text(P.report_id, reportId)
    p.number(P.part, part)
    p.number(P.parts, parts)
    p.text(P.instance_id, instanceId)
    p.text(P.anonymous_id, anonymousId)
    p.number(P.schema_version, schemaVersion)
    p.number(P.uptime, uptime)
    p.number(P.received_ms, receivedMs)
    p.number(P.rss, number(memory.rss))
    p.number(P.heap_used, number(memory.heapUsed))
    const first = this.nextRid
    if (isObject(props.paths)) this.addRecords(reportId, part, props.paths)
    p.number(P.first_rid, first)
    p.number(P.records, this.nextRid - first)
    p.next()
    if (part === 1) this.addFeatures(seq, props)
  }

  /** Part 1's facts (string values) and feature counts (what a BIGINT holds). */
  private addFeatures (seq: number, props: Json): void {
    if (isObject(props.facts)) {
      for (const name in props.facts) {
        const value = text(props.facts[name])
        if (value === null) continue
        this.facts.number(FA.seq, seq)
        this.facts.text(FA.name, name)
        this.facts.text(FA.value, value)
        this.facts.next()
      }
    }
    if (isObject(props.features)) {
      for (const name in props.features) {
        const n = props.features[name]
        if (!Number.isSafeInteger(n)) continue
        this.features.number(FE.seq, seq)
        this.features.text(FE.name, name)
        this.features.number(FE.n, n as number)
        this.features.next()
      }
    }
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
        const rid = this.nextRid++
        r.number(R.rid, rid)
        r.text(R.report_id, reportId)
        r.number(R.part, part)
        r.text(R.endpoint, endpoint)
        r.text(R.method, method)
        r.number(R.requests, count(record.requests))
        r.number(R.responses, count(record.responses))
        r.number(R.aborted, count(record.aborted))
        r.number(R.latency_sum, number(latency.sum))
        r.number(R.size_unknown, count(size.unknown))
        r.number(R.size_sum, number(size.sum))
        const lb = Array.isArray(latency.buckets) ? latency.buckets : []
        for (let i = 0; i < LATENCY_BUCKETS; i++) r.number(LATENCY_AT[i], count(lb[i]))
        const sb = Array.isArray(size.buckets) ? size.buckets : []
        for (let i = 0; i < SIZE_BUCKETS; i++) r.number(SIZE_AT[i], count(sb[i]))
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
      s.number(S.rid, rid)
      s.text(S.code, code)
      s.number(S.n, n as number)
      s.next()
    }
  }

  /** The rows flattened since the last call; the next are numbered from 0 again. */
  take (): Tables {
    this.seq = 0
    this.nextRid = 0
    return {
      events: this.events.take(),
      parts: this.parts.take(),
      records: this.records.take(),
      statuses: this.statuses.take(),
      facts: this.facts.take(),
      features: this.features.take()
    }
  }
}
