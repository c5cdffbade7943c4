import type { ReportedMethod } from './anonymizer'
import type { MetricsRecord, PathRecord } from './counters'
import { FST_TELEMETRY_INVALID_REPORT } from './errors'
import type { MethodRecords, TelemetryProperties, TelemetrySnapshot } from './report'

const METRICS_FIELDS = ['requests', 'responses', 'aborted', 'latency', 'size', 'status'] as const

/** Sets `records[key]` once: a record that arrives twice means the parts are not one report's. */
function putOnce<T> (records: Record<string, T>, key: string, record: T, where: string): void {
  if (Object.hasOwn(records, key)) throw new FST_TELEMETRY_INVALID_REPORT(`${where} is in two parts`)
  records[key] = record
}

/**
 * The receiving side of `splitReport`: puts the parts of one report (the `properties` of its `telemetry` events,
 * in any order) back together into the snapshot they were cut from. Pure; throws `FST_TELEMETRY_INVALID_REPORT`
 * unless `parts` is exactly parts 1..`parts` of one `reportId`, every record appears exactly once, and every
 * endpoint has its totals. The algorithm, for receivers in other languages:
 *
 * 1. Group events by `reportId`; wait until `parts` distinct `part` numbers (1..`parts`) have arrived.
 * 2. Start from part 1 without `reportId`, `part`, `parts`, `methods`, `paths`: `instanceId`, `schemaVersion`,
 *    `uptime`, the totals (`requests` … `status`), `memory`, `facts` and `features`.
 * 3. `methods`: the union of every part's `methods` (each method is in exactly one part).
 * 4. `paths`: for each endpoint, the union over every part of its entry's `methods`, plus the totals (the six
 *    metrics fields) from the one part whose entry has them.
 */
export function mergeReport (parts: readonly TelemetryProperties[]): TelemetrySnapshot {
  if (parts.length === 0) throw new FST_TELEMETRY_INVALID_REPORT('no parts')
  const ordered = [...parts].sort((a, b) => a.part - b.part)
  const { reportId, part, parts: count, methods: firstMethods, paths: firstPaths, ...head } = ordered[0]
  if (ordered.some((properties, index) => properties.reportId !== reportId || properties.part !== index + 1 ||
    properties.parts !== ordered.length)) {
    throw new FST_TELEMETRY_INVALID_REPORT(`expected parts 1..${count} of report ${reportId}, once each`)
  }
  if (head.memory === undefined || head.facts === undefined || head.features === undefined ||
    METRICS_FIELDS.some(field => head[field] === undefined)) {
    throw new FST_TELEMETRY_INVALID_REPORT('part 1 lacks the report totals, memory, facts or features')
  }
  const methods: MethodRecords = {}
  const paths: Record<string, Partial<PathRecord>> = {}
  for (const properties of ordered) {
    for (const [method, record] of Object.entries(properties.methods)) putOnce(methods, method, record, `method ${method}`)
    for (const [endpoint, { methods: pathMethods, ...totals }] of Object.entries(properties.paths)) {
      const path = paths[endpoint] ??= {}
      if (Object.keys(totals).length > 0) {
        if (path.requests !== undefined) throw new FST_TELEMETRY_INVALID_REPORT(`the totals of ${endpoint} are in two parts`)
        Object.assign(path, totals)
      }
      path.methods ??= {}
      for (const [method, record] of Object.entries(pathMethods)) {
        putOnce(path.methods as Record<string, MetricsRecord>, method as ReportedMethod, record, `${method} ${endpoint}`)
      }
    }
  }
  const complete: Record<string, PathRecord> = {}
  for (const [endpoint, path] of Object.entries(paths)) {
    if (path.requests === undefined) throw new FST_TELEMETRY_INVALID_REPORT(`the totals of ${endpoint} are in no part`)
    const { methods: pathMethods, ...totals } = path as PathRecord
    complete[endpoint] = { ...totals, methods: pathMethods }
  }
  return { ...(head as TelemetrySnapshot), methods, paths: complete }
}
