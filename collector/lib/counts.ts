import type { UnknownKeyCounts } from './unknown-keys'

/** What /health reports: the collector's own counters since it started. */
export interface CollectorCounts {
  /** Batches (requests) stored. */
  batches: number
  /** Events stored. */
  accepted: number
  /** Events answered 200 but not stored again: their `messageId` was seen recently. */
  duplicates: number
  /** Events stored unchecked because no schema of their `schemaVersion` is known, by version. */
  unknownSchemaVersions: Record<string, number>
  /** Requests refused, by error code (`FST_TELEMETRY_COLLECTOR_UNAUTHORIZED`, ...). */
  rejected: Record<string, number>
  /** Of those, the requests refused for a write key that is not configured, by the key's short hash. */
  unknownKeys: UnknownKeyCounts
}

export function newCounts (): CollectorCounts {
  return { batches: 0, accepted: 0, duplicates: 0, unknownSchemaVersions: {}, rejected: {}, unknownKeys: { byHash: {}, others: 0 } }
}

export function bump (record: Record<string, number>, key: string, by = 1): void {
  record[key] = (record[key] ?? 0) + by
}
