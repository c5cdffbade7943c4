import { createHash } from 'node:crypto'
import { availableParallelism } from 'node:os'
import { PerformanceObserver } from 'node:perf_hooks'
import { setFlagsFromString } from 'node:v8'
import { runInNewContext } from 'node:vm'
import { test } from 'tap'
import { SCHEMA_VERSION } from '../lib/index'
import { GcObserver } from '../lib/memory'
import { MAX_TIMER_MS } from '../lib/options'
import type { Collector } from './helpers/collector'
import { liveApp } from './helpers/live'

// A real collection on demand, so that GC figures are tested against GCs that certainly happened.
setFlagsFromString('--expose-gc')
const collectGarbage = runInNewContext('gc') as () => void

/** Forces a collection; resolves once `gc` performance entries were delivered, with how many this observer saw. */
async function garbageCollected (): Promise<number> {
  return await new Promise(resolve => {
    // GC entries are delivered from an unref'd callback: without a handle, an idle loop would exit first.
    const hold = setInterval(() => {}, 60_000)
    const observer = new PerformanceObserver(list => {
      clearInterval(hold)
      observer.disconnect()
      resolve(list.getEntries().length)
    })
    observer.observe({ entryTypes: ['gc'] })
    collectGarbage()
  })
}

type Properties = Record<string, any>

/** Resolves with the properties of the first `telemetry` event that satisfies `predicate`. */
async function reportWhere (collector: Collector, predicate: (properties: Properties) => boolean): Promise<Properties> {
  const matching = (): Properties | undefined => collector.named('telemetry').map(event => event.properties ?? {}).find(predicate)
  await collector.waitFor(() => matching() !== undefined)
  return matching() as Properties
}

/** Header `name` of the `index`-th request the collector received, from its raw request head. */
function requestHeader (collector: Collector, index: number, name: string): string | undefined {
  const [, ...raw] = collector.wire[index].split('\n\n')[0].split('\n')
  for (let i = 0; i < raw.length; i += 2) {
    if (raw[i].toLowerCase() === name) return raw[i + 1]
  }
  return undefined
}

const METRICS_KEYS = ['aborted', 'latency', 'requests', 'responses', 'size', 'status']

test('identify carries exactly the documented traits', async t => {
  const { collector, app } = await liveApp(t, { version: '1.2.3', hash: 'abc123', buildTime: '2025-01-31T12:00:00Z' })
  const [identify] = await collector.waitForEvents('identify')
  t.strictSame(identify.traits, {
    instanceId: app.telemetry.instanceId,
    schemaVersion: SCHEMA_VERSION,
    os: process.platform,
    arch: process.arch,
    numCpu: availableParallelism(),
    runtimeVersion: process.version,
    version: '1.2.3',
    hash: 'abc123',
    buildTime: '2025-01-31T12:00:00Z'
  })
})

test('identify reports build facts that were not given as unknown', async t => {
  const { collector } = await liveApp(t)
  const [identify] = await collector.waitForEvents('identify')
  t.equal(identify.traits?.version, 'unknown')
  t.equal(identify.traits?.hash, 'unknown')
  t.equal(identify.traits?.buildTime, 'unknown')
})

test('a telemetry event carries exactly the documented properties', async t => {
  const { collector, app } = await liveApp(t)
  const [report] = await collector.waitForEvents('telemetry')
  const properties = report.properties as Properties
  t.strictSame(Object.keys(properties).sort(), [
    ...METRICS_KEYS, 'facts', 'features', 'instanceId', 'memory', 'methods', 'part', 'parts', 'paths', 'reportId', 'schemaVersion', 'uptime'
  ].sort())
  t.equal(properties.instanceId, app.telemetry.instanceId)
  t.equal(properties.schemaVersion, SCHEMA_VERSION)
  t.ok(Number.isInteger(properties.uptime) && properties.uptime >= 0, 'uptime is whole seconds')
  t.match(properties.reportId, /^[0-9a-f]{8}-[0-9a-f]{4}-4[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}$/)
  t.equal(properties.part, 1)
  t.equal(properties.parts, 1)
})

test('a report counts requests in total, per method, and per path with its own methods', async t => {
  const { collector, app } = await liveApp(t)
  await app.inject('/clients/alice')
  await app.inject({ method: 'POST', url: '/clients/alice/secret' })
  await app.inject('/no-such-route')
  const report = await reportWhere(collector, properties => properties.requests === 3)
  t.equal(report.responses, 3)
  t.same(report.status, { 200: 2, 404: 1 })
  t.strictSame(Object.keys(report.methods).sort(), ['GET', 'POST'])
  t.equal(report.methods.GET.requests, 2)
  t.strictSame(Object.keys(report.methods.GET).sort(), METRICS_KEYS)
  t.strictSame(Object.keys(report.paths).sort(), ['/', '/clients'])
  t.strictSame(Object.keys(report.paths['/clients']).sort(), [...METRICS_KEYS, 'methods'].sort())
  t.equal(report.paths['/clients'].methods.GET.requests, 1)
  t.equal(report.paths['/clients'].methods.POST.requests, 1)
  t.equal(report.paths['/'].methods.GET.status['404'], 1)
})

test('a report carries process memory and GC figures', async t => {
  const { collector } = await liveApp(t)
  const [report] = await collector.waitForEvents('telemetry')
  const memory = report.properties?.memory
  t.strictSame(Object.keys(memory).sort(), [
    'arrayBuffers', 'external', 'gcCycles', 'gcPauseMs', 'heapSizeLimit', 'heapTotal', 'heapUsed', 'mallocedMemory',
    'peakMallocedMemory', 'rss'
  ])
  for (const [name, value] of Object.entries(memory)) t.ok(typeof value === 'number' && value >= 0, name)
  t.ok(memory.heapUsed <= memory.heapTotal)
})

test('garbage collections after start are counted in the next report', async t => {
  const { collector } = await liveApp(t)
  await collector.waitForEvents('telemetry')
  await garbageCollected()
  const report = await reportWhere(collector, properties => properties.memory.gcCycles > 0)
  t.ok(report.memory.gcPauseMs > 0)
})

test('the GC observer counts each collection once, even when started twice', async t => {
  const gc = new GcObserver()
  gc.start()
  gc.start()
  t.teardown(() => gc.stop())
  const seen = await garbageCollected()
  t.equal(gc.cycles, seen)
  t.ok(gc.pauseMs > 0)
})

test('a stopped GC observer counts nothing more', async t => {
  const gc = new GcObserver()
  gc.start()
  gc.stop()
  await garbageCollected()
  t.equal(gc.cycles, 0)
  t.equal(gc.pauseMs, 0)
})

test('a keep-alive carries only the instance id and the schema version', async t => {
  const { collector, app } = await liveApp(t)
  const [keepAlive] = await collector.waitForEvents('keep-alive')
  t.strictSame(keepAlive.properties, { instanceId: app.telemetry.instanceId, schemaVersion: SCHEMA_VERSION })
})

test('every event is sent under the cluster id, with the address 0.0.0.0', async t => {
  const { collector, app } = await liveApp(t)
  await collector.waitForEvents('identify')
  await collector.waitForEvents('telemetry')
  await collector.waitForEvents('keep-alive')
  const clusterId = createHash('sha512').update('https://auth.example.com/').digest('hex')
  t.equal(app.telemetry.clusterId, clusterId)
  for (const event of collector.events) {
    t.equal(event.anonymousId, clusterId, `${event.type} ${event.event ?? ''}`)
    t.equal(event.context.ip, '0.0.0.0', `${event.type} ${event.event ?? ''}`)
  }
})

test('batches are sent with the write key as Basic auth', async t => {
  const { collector } = await liveApp(t)
  await collector.waitForEvents('identify')
  t.equal(requestHeader(collector, 0, 'authorization'), `Basic ${Buffer.from(`${collector.writeKey}:`).toString('base64')}`)
})

test('batches go to the configured host and path', async t => {
  const { collector } = await liveApp(t, { path: '/ingest/batch' })
  await collector.waitFor(() => collector.requests > 0)
  t.match(collector.wire[0], /^POST \/ingest\/batch HTTP\/1\.1\n/)
  t.equal(collector.events.length, 0, 'this collector only stores what arrives on /v1/batch')
})

test('an instance closed before identifyAfter sends nothing, not even on close', async t => {
  const { collector, app } = await liveApp(t, { identifyAfter: MAX_TIMER_MS })
  await app.inject('/clients/alice')
  await app.close()
  t.equal(collector.requests, 0)
})

test('closing after identify sends a final report that includes the requests since the last one', async t => {
  const { collector, app } = await liveApp(t, { reportInterval: MAX_TIMER_MS, keepAliveInterval: MAX_TIMER_MS })
  const [first] = await collector.waitForEvents('telemetry')
  t.equal(first.properties?.requests, 0)
  await app.inject('/clients/alice')
  await app.inject('/clients/bob')
  await app.close()
  const reports = collector.named('telemetry')
  t.equal(reports.length, 2)
  t.equal(reports[1].properties?.requests, 2)
  t.equal(reports[1].properties?.paths['/clients'].requests, 2)
})

test('reports are cumulative: each one counts everything since the instance started', async t => {
  const { collector, app } = await liveApp(t)
  await app.inject('/clients/alice')
  await app.inject('/clients/bob')
  await reportWhere(collector, properties => properties.requests === 2)
  for (let i = 0; i < 3; i++) await app.inject('/clients/carol')
  // A report that counted only what happened since the previous one could never reach 5.
  await reportWhere(collector, properties => properties.requests === 5)
  const totals = collector.named('telemetry').map(event => event.properties?.requests as number)
  t.strictSame(totals, [...totals].sort((a, b) => a - b), 'never decreasing')
})
