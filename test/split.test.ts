import { randomUUID } from 'node:crypto'
import type { FastifyInstance } from 'fastify'
import { test } from 'tap'
import { MAX_EVENT_BYTES, type TelemetryProperties, type TelemetrySnapshot } from '../lib/index'
import type { PathRecord } from '../lib/counters'
import { MAX_TIMER_MS } from '../lib/options'
import { splitReport } from '../lib/report'
import { buildApp } from './helpers/app'
import { liveApp } from './helpers/live'
import { quietApp, quietOptions, snapshotOf } from './helpers/snapshot'

/** Far more endpoints than one 32 KB event can describe. */
const ENDPOINT_COUNT = 240
const MANY_ENDPOINTS = Array.from({ length: ENDPOINT_COUNT }, (_, i) => `/api/resource-${String(i).padStart(3, '0')}`)

/** Per endpoint: several methods and status codes, so that each path record is as large as real ones get. */
const TRAFFIC = [
  ['GET', 200], ['GET', 404], ['POST', 201], ['POST', 400], ['DELETE', 204], ['DELETE', 500]
] as const

function addManyRoutes (app: FastifyInstance): void {
  for (const endpoint of MANY_ENDPOINTS) {
    app.route({
      method: ['GET', 'POST', 'DELETE'],
      url: `${endpoint}/:id`,
      handler: async (request, reply) => reply.code(Number((request.query as { status: string }).status)).send()
    })
  }
}

async function sendTraffic (app: FastifyInstance): Promise<void> {
  for (const endpoint of MANY_ENDPOINTS) {
    for (const [method, status] of TRAFFIC) await app.inject({ method, url: `${endpoint}/x?status=${status}` })
  }
}

/** The event as the Segment SDK puts it on the wire around `properties` (sizes of real ids and stamps). */
function segmentMessage (properties: TelemetryProperties): object {
  return {
    type: 'track',
    event: 'telemetry',
    anonymousId: 'f'.repeat(128),
    properties,
    context: { ip: '0.0.0.0', library: { name: '@segment/analytics-node', version: '3.1.0' } },
    messageId: `node-next-${Date.now()}-${randomUUID()}`,
    timestamp: new Date().toISOString(),
    integrations: {},
    _metadata: { nodeVersion: process.version, jsRuntime: 'node' }
  }
}

const bytes = (value: unknown): number => Buffer.byteLength(JSON.stringify(value))

/** Every part's `paths`, merged; throws if one endpoint appears in two parts. */
function mergePaths (parts: Array<{ paths?: Record<string, PathRecord> }>): Record<string, PathRecord> {
  const merged: Record<string, PathRecord> = {}
  for (const part of parts) {
    for (const [endpoint, record] of Object.entries(part.paths ?? {})) {
      if (endpoint in merged) throw new Error(`${endpoint} is in two parts`)
      merged[endpoint] = record
    }
  }
  return merged
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

test('part 1 carries the totals, methods and memory; the other parts only identify the report and hold paths', async t => {
  const snapshot = await bigSnapshot()
  const [first, ...rest] = splitReport(snapshot)
  const { paths, ...totals } = snapshot
  t.strictSame(first, { ...totals, paths: first.paths, reportId: first.reportId, part: 1, parts: rest.length + 1 })
  for (const part of rest) {
    t.strictSame(Object.keys(part).sort(), ['instanceId', 'part', 'parts', 'paths', 'reportId', 'schemaVersion', 'uptime'])
    t.equal(part.instanceId, snapshot.instanceId)
    t.equal(part.uptime, snapshot.uptime)
  }
})

test('no path is dropped or duplicated: the parts\' paths add up to the whole report\'s', async t => {
  const snapshot = await bigSnapshot()
  t.equal(Object.keys(snapshot.paths).length, ENDPOINT_COUNT)
  t.strictSame(mergePaths(splitReport(snapshot)), snapshot.paths)
})

test('a report that fits in one event stays whole', async t => {
  const app = await quietApp(t, app => app.get('/clients', async () => 'ok'))
  await app.inject('/clients')
  const snapshot = snapshotOf(app)
  const parts = splitReport(snapshot)
  t.equal(parts.length, 1)
  t.strictSame(parts[0], { ...snapshot, reportId: parts[0].reportId, part: 1, parts: 1 })
})

test('a single path larger than the budget still travels, whole, rather than being dropped', async t => {
  const snapshot = await bigSnapshot()
  const oneEndpoint = MANY_ENDPOINTS[0]
  const parts = splitReport({ ...snapshot, paths: { [oneEndpoint]: snapshot.paths[oneEndpoint] } }, 2500)
  t.equal(parts.length, 1)
  t.strictSame(parts[0].paths, { [oneEndpoint]: snapshot.paths[oneEndpoint] })
})

test('end to end: every part of a large report reaches the collector, each event under 32 KB', async t => {
  const { collector, app } = await liveApp(t, { endpoints: MANY_ENDPOINTS, reportInterval: MAX_TIMER_MS, keepAliveInterval: MAX_TIMER_MS }, addManyRoutes)
  await collector.waitForEvents('telemetry')
  await sendTraffic(app)
  const expected = snapshotOf(app).paths
  await app.close()

  const final = collector.named('telemetry').filter(event => event.properties?.parts > 1)
  t.ok(final.length > 3, `the final report arrived in ${final.length} parts`)
  t.equal(final.length, final[0].properties?.parts)
  t.equal(new Set(final.map(event => event.properties?.reportId)).size, 1)
  t.strictSame(mergePaths(final.map(event => event.properties ?? {})), expected)

  for (const body of collector.rawBodies) {
    for (const event of (JSON.parse(body) as { batch: unknown[] }).batch) t.ok(bytes(event) < MAX_EVENT_BYTES, `${bytes(event)} bytes`)
  }
})
