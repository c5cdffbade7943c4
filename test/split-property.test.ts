import { randomUUID } from 'node:crypto'
import { deepStrictEqual, ok } from 'node:assert'
import fc from 'fast-check'
import { test } from 'tap'
import { MAX_EVENT_BYTES, METHODS, SCHEMA_VERSION, mergeReport, type TelemetrySnapshot } from '../lib/index'
import { createMethodCells, summarize, type MethodCells } from '../lib/counters'
import { GcObserver, memoryRecord } from '../lib/memory'
import { splitReport } from '../lib/report'
import type { FeatureRecords } from '../lib/features'
import { MAX_BATCH_BYTES, NO_FEATURES, bytes, maximalFeatures, segmentBatch, segmentMessage, worstCell } from './helpers/split'

// Whatever the traffic: any endpoints the options accept, any methods, any status codes a report can hold, any
// counter sizes. Every event as the SDK sends it stays under 32 KB, every batch under 500 KB, and the parts
// recombine to exactly the snapshot.

/** Characters an endpoint may hold, including those JSON escapes (a control character costs 6 bytes). */
const ENDPOINT_CHARS = ['a', 'z', '0', '-', '/', '.', '"', '\\', '\u0001', 'é', '\u{1F600}']
const endpoint = fc.array(fc.constantFrom(...ENDPOINT_CHARS), { maxLength: 99 }).map(chars => `/${chars.join('')}`)
const CODES = [0, ...Array.from({ length: 500 }, (_, i) => 100 + i)]
const codes = fc.oneof(fc.constant(CODES), fc.subarray(CODES, { minLength: 1 }), fc.subarray(CODES, { minLength: 1, maxLength: 5 }))
const count = fc.oneof(fc.constant(1), fc.integer({ min: 2, max: Number.MAX_SAFE_INTEGER }))
const methods = fc.dictionary(fc.constantFrom(...METHODS), fc.tuple(codes, count), { minKeys: 1 })
const traffic = fc.dictionary(endpoint, methods, { minKeys: 1, maxKeys: 12 })
const features = fc.constantFrom(NO_FEATURES, maximalFeatures())

function snapshotOf (byEndpoint: Record<string, Record<string, [number[], number]>>, records: FeatureRecords): TelemetrySnapshot {
  const endpoints = new Map<string, MethodCells>()
  for (const [path, byMethod] of Object.entries(byEndpoint)) {
    const cells = createMethodCells()
    for (const [method, [answered, n]] of Object.entries(byMethod)) cells[METHODS.indexOf(method as typeof METHODS[number])] = worstCell(answered, n)
    endpoints.set(path, cells)
  }
  return { instanceId: randomUUID(), schemaVersion: SCHEMA_VERSION, uptime: 1e9, ...summarize(endpoints), memory: memoryRecord(new GcObserver()), ...records }
}

test('for any traffic, with or without the largest feature records, every event is under 32 KB, every batch under 500 KB, and the parts recombine to the snapshot', async t => {
  fc.assert(fc.property(traffic, features, (byEndpoint, records) => {
    const snapshot = snapshotOf(byEndpoint, records)
    const parts = splitReport(snapshot)
    for (const part of parts) {
      ok(bytes(segmentMessage(part)) < MAX_EVENT_BYTES, `part ${part.part}/${part.parts}: ${bytes(segmentMessage(part))} bytes`)
      ok(Buffer.byteLength(segmentBatch(part)) < MAX_BATCH_BYTES)
    }
    deepStrictEqual(mergeReport([...parts].reverse()), snapshot)
  }), { numRuns: 60 })
  t.pass('held for 60 generated reports')
})
