import { randomUUID } from 'node:crypto'
import type { TelemetryProperties } from '../../lib/index'
import { MetricsCell } from '../../lib/counters'
import { FEATURE_LIMITS, type FeatureRecords } from '../../lib/features'

/** Segment's limit per batch (request body). */
export const MAX_BATCH_BYTES = 500 * 1024

export const bytes = (value: unknown): number => Buffer.byteLength(JSON.stringify(value))

/** The event as the Segment SDK puts it on the wire around `properties`, each field as long as it gets. */
export function segmentMessage (properties: TelemetryProperties): object {
  return {
    type: 'track',
    event: 'telemetry',
    properties,
    anonymousId: 'f'.repeat(128),
    context: { ip: '0.0.0.0', library: { name: '@segment/analytics-node', version: '3.1.0-prerelease.12' } },
    messageId: `node-next-${Date.now()}-${randomUUID()}`,
    timestamp: new Date().toISOString(),
    integrations: {},
    _metadata: { nodeVersion: 'v20.100.100-nightly20991231abcdef', jsRuntime: 'node' }
  }
}

/** The body the SDK posts with `flushAt: 1`: one event, the write key, and the send time. */
export function segmentBatch (properties: TelemetryProperties, writeKey = 'k'.repeat(64)): string {
  return JSON.stringify({ batch: [segmentMessage(properties)], writeKey, sentAt: new Date().toISOString() })
}

const MAX_COUNT = Number.MAX_SAFE_INTEGER
/** A latency sum with the most digits a float prints, small enough that adding a few stays finite. */
const LONG_SUM = 1.2345678901234567e+300

/**
 * A cell of the plugin's own counters that answered each of `codes`, with every counter as long as JSON prints
 * it (`count` 1 gives a small one).
 */
export function worstCell (codes: readonly number[], count = MAX_COUNT): MetricsCell {
  const cell = new MetricsCell()
  for (const code of codes) cell.countResponse(code, 3, 100)
  if (count === 1) return cell
  cell.requests = cell.responses = cell.aborted = cell.sizeUnknown = count
  for (const histogram of [cell.latency, cell.size]) {
    histogram.count = count
    histogram.sum = LONG_SUM
    histogram.buckets.fill(count)
  }
  for (const code of cell.status.keys()) cell.status.set(code, count)
  return cell
}

/** A report's feature records with nothing declared. */
export const NO_FEATURES: FeatureRecords = { facts: {}, features: {} }

/** The largest feature records the options allow: every fact set, every name and value 64 characters, every count 2^53 - 1. */
export function maximalFeatures (): FeatureRecords {
  const name = (kind: string, i: number): string => `${kind}-${String(i).padStart(2, '0')}-`.padEnd(64, 'x')
  return {
    facts: Object.fromEntries(Array.from({ length: FEATURE_LIMITS.facts }, (_, i) => [name('fact', i), name('value', i)])),
    features: Object.fromEntries(Array.from({ length: FEATURE_LIMITS.counters }, (_, i) => [name('counter', i), MAX_COUNT]))
  }
}
