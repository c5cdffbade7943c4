import { randomUUID } from 'node:crypto'
import type { FastifyInstance } from 'fastify'
import { test } from 'tap'
import { MAX_EVENT_BYTES, METHODS, SCHEMA_VERSION, mergeReport, type TelemetryProperties, type TelemetrySnapshot } from '../lib/index'
import { createMethodCells, summarize, type MethodCells } from '../lib/counters'
import { GcObserver, memoryRecord } from '../lib/memory'
import { MAX_TIMER_MS } from '../lib/options'
import { ENVELOPE_BYTES, splitReport } from '../lib/report'
import { buildApp } from './helpers/app'
import { liveApp } from './helpers/live'
import { MAX_BATCH_BYTES, NO_FEATURES, bytes, maximalFeatures, segmentMessage, worstCell } from './helpers/split'
import { quietOptions, snapshotOf } from './helpers/snapshot'

/** Far more endpoints than one 32 KB event can describe. */
const ENDPOINT_COUNT = 240
const MANY_ENDPOINTS = Array.from({ length: ENDPOINT_COUNT }, (_, i) => `/api/resource-${String(i).padStart(3, '0')}`)

/** Per endpoint: several methods and status codes, so that each path record is as large as real ones get. */
const TRAFFIC = [
  ['GET', 200], ['GET', 404], ['POST', 201], ['POST', 400], ['DELETE', 204], ['DELETE', 500]
] as const

const replyWithQueryStatus = async (request: { query: unknown }, reply: { code: (status: number) => { send: () => unknown } }): Promise<unknown> =>
  await reply.code(Number((request.query as { status: string }).status)).send()

function addManyRoutes (app: FastifyInstance): void {
  for (const endpoint of MANY_ENDPOINTS) app.route({ method: ['GET', 'POST', 'DELETE'], url: `${endpoint}/:id`, handler: replyWithQueryStatus })
}

async function sendTraffic (app: FastifyInstance): Promise<void> {
  for (const endpoint of MANY_ENDPOINTS) {
    for (const [method, status] of TRAFFIC) await app.inject({ method, url: `${endpoint}/x?status=${status}` })
  }
}

let big: Promise<TelemetrySnapshot> | undefined

/** The snapshot of an app that served every endpoint; built once, since no test changes it. */
async function bigSnapshot (): Promise<TelemetrySnapshot> {
  big ??= (async () => {
    const app = await buildApp(quietOptions(MANY_ENDPOINTS), addManyRoutes)
    try {
      await sendTraffic(app)
      return snapshotOf(app)
    } finally {
      await app.close()
    }
  })()
  return await big
}

/** A snapshot built by the plugin's own summary code from cells: `{ endpoint: { METHOD: cell } }`. */
function snapshotFrom (cells: Record<string, Partial<Record<typeof METHODS[number], ReturnType<typeof worstCell>>>>, uptime = 900, features = NO_FEATURES): TelemetrySnapshot {
  const endpoints = new Map<string, MethodCells>()
  for (const [endpoint, methods] of Object.entries(cells)) {
    const row = createMethodCells()
    for (const [method, cell] of Object.entries(methods)) row[METHODS.indexOf(method as typeof METHODS[number])] = cell
    endpoints.set(endpoint, row)
  }
  return { instanceId: randomUUID(), schemaVersion: SCHEMA_VERSION, uptime, ...summarize(endpoints), memory: memoryRecord(new GcObserver()), ...features }
}

test('a report too large for one event is split into parts that each stay under 32 KB', async t => {
  const snapshot = await bigSnapshot()
  t.ok(bytes(snapshot) > 3 * MAX_EVENT_BYTES, 'the whole report is several times the limit')
  const parts = splitReport(snapshot)
  t.ok(parts.length > 3)
  for (const part of parts) t.ok(bytes(segmentMessage(part)) < MAX_EVENT_BYTES, `part ${part.part}: ${bytes(segmentMessage(part))} bytes`)
})

test('the parts of a report share one reportId and are numbered 1..parts', async t => {
  const parts = splitReport(await bigSnapshot())
  t.equal(new Set(parts.map(part => part.reportId)).size, 1)
  t.strictSame(parts.map(part => part.part), parts.map((_, index) => index + 1))
  t.ok(parts.every(part => part.parts === parts.length))
})

test('part 1 carries the report totals and memory; the other parts only identify the report and hold methods and paths', async t => {
  const snapshot = await bigSnapshot()
  const [first, ...rest] = splitReport(snapshot)
  const { paths, methods, ...totals } = snapshot
  t.strictSame(first, { ...totals, methods: first.methods, paths: first.paths, reportId: first.reportId, part: 1, parts: rest.length + 1 })
  for (const part of rest) {
    t.strictSame(Object.keys(part).sort(), ['instanceId', 'methods', 'part', 'parts', 'paths', 'reportId', 'schemaVersion', 'uptime'])
    t.equal(part.instanceId, snapshot.instanceId)
    t.equal(part.uptime, snapshot.uptime)
  }
})

test('mergeReport puts the parts, in any order, back together into exactly the snapshot', async t => {
  const snapshot = await bigSnapshot()
  t.strictSame(mergeReport(splitReport(snapshot).reverse()), snapshot)
})

test('a report that fits in one event stays whole: the snapshot plus reportId, part and parts', async t => {
  const snapshot = snapshotFrom({ '/clients': { GET: worstCell([200, 404]) } })
  const parts = splitReport(snapshot)
  t.equal(parts.length, 1)
  t.strictSame(parts[0], { ...snapshot, reportId: parts[0].reportId, part: 1, parts: 1 })
})

/** Every status code a report can hold: 100..599, and 0 for anything else. */
const ALL_CODES = [0, ...Array.from({ length: 500 }, (_, i) => 100 + i)]

test('one endpoint that answers every status code on every method is divided between parts, record by record', async t => {
  const snapshot = snapshotFrom({ '/relay': Object.fromEntries(METHODS.map(method => [method, worstCell(ALL_CODES)])) })
  const parts = splitReport(snapshot)
  t.ok(parts.length > 2, `${parts.length} parts`)
  for (const part of parts) t.ok(bytes(segmentMessage(part)) < MAX_EVENT_BYTES, `part ${part.part}: ${bytes(segmentMessage(part))} bytes`)
  const holding = (key: 'requests' | 'methods'): number => parts.filter(part => part.paths['/relay'] !== undefined &&
    (key === 'requests' ? part.paths['/relay'].requests !== undefined : Object.keys(part.paths['/relay'].methods).length > 0)).length
  t.equal(holding('requests'), 1, 'the endpoint\'s totals are in exactly one part')
  t.ok(holding('methods') > 1, 'its methods are spread over several')
  t.ok(parts.filter(part => Object.keys(part.methods).length > 0).length > 1, 'so are the top-level methods')
  t.strictSame(mergeReport(parts), snapshot)
})

test('the largest record possible (501 status codes, counters at 2^53, the longest endpoint) fits in any part, part 1 included', async t => {
  // 200 characters that JSON escapes to 6 bytes each: the most an allow-listed endpoint can cost.
  const endpoint = '/' + '\u0001'.repeat(199)
  const snapshot = snapshotFrom({ [endpoint]: { OTHER: worstCell(ALL_CODES) } }, Number.MAX_SAFE_INTEGER)
  const record = bytes({ [endpoint]: { methods: { OTHER: snapshot.paths[endpoint].methods.OTHER } } })
  const [first, ...rest] = splitReport(snapshot)
  const skeleton = bytes({ ...first, methods: {}, paths: {} })
  t.ok(record < 14 * 1024, `one record: ${record} bytes`)
  t.ok(skeleton + record + ENVELOPE_BYTES < MAX_EVENT_BYTES, `part 1 without records (${skeleton} bytes) has room for the largest one`)
  for (const part of [first, ...rest]) t.ok(bytes(segmentMessage(part)) < MAX_EVENT_BYTES)
})

test('the largest feature records (32 facts, 64 counters, every name and value 64 characters) take about 10 KB of part 1, beside the largest records', async t => {
  const features = maximalFeatures()
  t.ok(bytes(features) < 10 * 1024, `facts and features: ${bytes(features)} bytes`)
  const endpoints = Array.from({ length: 6 }, (_, i) => `/${String(i)}`.padEnd(200, 'e'))
  const snapshot = snapshotFrom(Object.fromEntries(endpoints.map(endpoint =>
    [endpoint, Object.fromEntries(METHODS.map(method => [method, worstCell(ALL_CODES)]))])), Number.MAX_SAFE_INTEGER, features)
  const parts = splitReport(snapshot)
  const fixed = bytes({ ...parts[0], methods: {}, paths: {} })
  t.ok(fixed + ENVELOPE_BYTES < MAX_EVENT_BYTES, `part 1's fixed size with the largest totals and features: ${fixed} bytes`)
  t.ok(parts.length > 6, `${parts.length} parts`)
  for (const part of parts) t.ok(bytes(segmentMessage(part)) < MAX_EVENT_BYTES, `part ${part.part}: ${bytes(segmentMessage(part))} bytes`)
  t.strictSame(parts[0].facts, features.facts, 'part 1 carries the facts')
  t.strictSame(parts[0].features, features.features, 'and the counters')
  t.ok(parts.slice(1).every(part => part.facts === undefined && part.features === undefined), 'no other part does')
  t.strictSame(mergeReport(parts.reverse()), snapshot)
})

test('a record larger than a whole part (only with a tiny limit) still travels, alone in its part, rather than being dropped', async t => {
  const snapshot = snapshotFrom({ '/a': { GET: worstCell(ALL_CODES), POST: worstCell([200]) } })
  const parts = splitReport(snapshot, 4096)
  t.ok(parts.some(part => Object.keys(part.paths['/a']?.methods ?? {}).length === 1 && bytes(part) > 4096), 'the GET record travels whole')
  t.strictSame(mergeReport(parts), snapshot)
})

test('end to end: every part of a large report reaches the collector, each event under 32 KB, one event per batch', async t => {
  const { collector, app } = await liveApp(t, { endpoints: MANY_ENDPOINTS, reportInterval: MAX_TIMER_MS, keepAliveInterval: MAX_TIMER_MS }, addManyRoutes)
  await collector.waitForEvents('telemetry')
  await sendTraffic(app)
  const expected = snapshotOf(app)
  await app.close()

  const final = collector.named('telemetry').filter(event => event.properties?.parts > 1)
  t.ok(final.length > 3, `the final report arrived in ${final.length} parts`)
  const merged = mergeReport(final.map(event => event.properties as TelemetryProperties))
  t.strictSame(merged.paths, expected.paths)
  t.strictSame(merged.methods, expected.methods)

  for (const body of collector.rawBodies) {
    const { batch } = JSON.parse(body) as { batch: Array<{ properties?: unknown }> }
    // flushAt: 1: the SDK posts each event alone, so a batch is one event (< 32 KB) plus writeKey and sentAt.
    t.equal(batch.length, 1)
    t.ok(Buffer.byteLength(body) < MAX_BATCH_BYTES)
    t.ok(bytes(batch[0]) < MAX_EVENT_BYTES, `${bytes(batch[0])} bytes`)
    if (batch[0].properties !== undefined) {
      const envelope = bytes(batch[0]) - bytes(batch[0].properties)
      t.ok(envelope < ENVELOPE_BYTES / 2, `what the SDK adds around properties (${envelope} bytes) is well within the ${ENVELOPE_BYTES} left for it`)
    }
  }
})

test('mergeReport refuses parts that are not exactly the parts of one report, naming what is wrong', async t => {
  const snapshot = snapshotFrom({ '/relay': Object.fromEntries(METHODS.map(method => [method, worstCell(ALL_CODES)])) })
  const { methods: _, ...relayTotals } = snapshot.paths['/relay']
  const parts = splitReport(snapshot)
  const [first, second] = parts
  const other = splitReport(snapshotFrom({ '/relay': { GET: worstCell([200]) } }))[0]
  const cases: Array<[string, TelemetryProperties[], RegExp]> = [
    ['none', [], /no parts/],
    ['one missing', parts.slice(1), /expected parts/],
    ['one twice', [...parts, second], /expected parts/],
    ['another report\'s', [...parts.slice(1), { ...other, parts: parts.length }], /expected parts/],
    ['part 1 without memory', [{ ...first, memory: undefined }, ...parts.slice(1)], /totals, memory, facts or features/],
    ['part 1 without facts', [{ ...first, facts: undefined }, ...parts.slice(1)], /totals, memory, facts or features/],
    ['part 1 without features', [{ ...first, features: undefined }, ...parts.slice(1)], /totals, memory, facts or features/],
    ['a method in two parts', [{ ...first, methods: { ...first.methods, ...second.methods, GET: first.methods.GET ?? second.methods.GET } }, ...parts.slice(1)], /in two parts/],
    ['an endpoint\'s totals in two parts', parts.map(part => ({ ...part, paths: { '/relay': { ...relayTotals, methods: part.paths['/relay']?.methods ?? {} } } })), /totals of \/relay are in two parts/],
    ['an endpoint without totals', parts.map(part => ({ ...part, paths: { '/relay': { methods: part.paths['/relay']?.methods ?? {} } } })), /totals of \/relay are in no part/]
  ]
  for (const [what, given, message] of cases) t.throws(() => mergeReport(given), { code: 'FST_TELEMETRY_INVALID_REPORT', message }, what)
})
