import { request } from 'node:http'
import type { AddressInfo } from 'node:net'
import { Readable } from 'node:stream'
import type { FastifyInstance } from 'fastify'
import { test, type Test } from 'tap'
import { LATENCY_BOUNDS_MS, SIZE_BOUNDS_BYTES, type MetricsRecord } from '../lib/index'
import { MetricsCell, createMethodCells, summarize } from '../lib/counters'
import { quietApp, snapshotOf } from './helpers/snapshot'

/** The report totals after one endpoint answered `responses`. */
function recordOf (...responses: Array<[status: number, elapsedMs: number, contentLength: number | undefined]>): MetricsRecord {
  const cells = createMethodCells()
  const cell = cells[0] = new MetricsCell()
  for (const [status, elapsedMs, contentLength] of responses) cell.countResponse(status, elapsedMs, contentLength)
  return summarize(new Map([['/', cells]]))
}

/** The index of the only non-empty bucket. */
function bucketOf (buckets: number[]): number {
  const filled = buckets.flatMap((count, index) => count === 0 ? [] : [index])
  if (filled.length !== 1) throw new Error(`expected one filled bucket, got ${JSON.stringify(buckets)}`)
  return filled[0]
}

test('histograms have one bucket more than bounds: the last one is overflow', async t => {
  const record = summarize(new Map())
  t.equal(record.latency.buckets.length, LATENCY_BOUNDS_MS.length + 1)
  t.equal(record.size.buckets.length, SIZE_BOUNDS_BYTES.length + 1)
})

test('a value equal to a bound counts in that bound\'s bucket', async t => {
  LATENCY_BOUNDS_MS.forEach((bound, index) => {
    t.equal(bucketOf(recordOf([200, bound, 0]).latency.buckets), index, `latency ${bound} ms`)
  })
  SIZE_BOUNDS_BYTES.forEach((bound, index) => {
    t.equal(bucketOf(recordOf([200, 0, bound]).size.buckets), index, `size ${bound} bytes`)
  })
})

test('a value just above a bound counts in the next bucket', async t => {
  t.equal(bucketOf(recordOf([200, 1.001, 0]).latency.buckets), 1)
  t.equal(bucketOf(recordOf([200, 0, 65]).size.buckets), 1)
})

test('a value above the last bound counts in the overflow bucket', async t => {
  t.equal(bucketOf(recordOf([200, 60_000, 0]).latency.buckets), LATENCY_BOUNDS_MS.length)
  t.equal(bucketOf(recordOf([200, 0, 1e9]).size.buckets), SIZE_BOUNDS_BYTES.length)
})

test('buckets are not cumulative: each value counts in exactly one bucket', async t => {
  const record = recordOf([200, 0.5, 10], [200, 3, 100], [200, 3, 100], [200, 20_000, 1e9])
  t.same(record.latency.buckets, [1, 0, 2, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 1])
  t.same(record.size.buckets, [1, 2, 0, 0, 0, 0, 0, 0, 0, 1])
  t.equal(record.latency.count, 4)
  t.equal(record.latency.sum, 20_006.5)
  t.equal(record.size.sum, 1e9 + 210)
})

test('latency sums are reported to the microsecond', async t => {
  t.equal(recordOf([200, 0.1234567, 0]).latency.sum, 0.123)
})

test('a status code outside 100..599 counts under 0, so the status map stays bounded', async t => {
  t.same(recordOf([600, 1, 0], [99, 1, 0], [200, 1, 0]).status, { 0: 2, 200: 1 })
})

test('a streamed response without content-length counts as unknown size', async t => {
  const app = await quietApp(t, app => app.get('/files/*', async (request, reply) => reply.send(Readable.from(['a', 'b']))))
  await app.inject('/files/a.txt')
  const { size } = snapshotOf(app)
  t.same(size, { count: 0, sum: 0, unknown: 1, buckets: new Array(SIZE_BOUNDS_BYTES.length + 1).fill(0) })
})

test('a response with a body counts its content-length', async t => {
  const app = await quietApp(t, app => app.get('/clients', async () => 'x'.repeat(100)))
  await app.inject('/clients')
  const { size } = snapshotOf(app)
  t.equal(size.count, 1)
  t.equal(size.sum, 100)
  t.equal(bucketOf(size.buckets), 1)
})

test('204 and 304 responses count as size 0', async t => {
  const app = await quietApp(t, app => {
    app.delete('/clients/:id', async (request, reply) => reply.code(204).send())
    app.get('/clients/:id', async (request, reply) => reply.code(304).send())
  })
  await app.inject({ method: 'DELETE', url: '/clients/alice' })
  await app.inject('/clients/alice')
  const { size, status } = snapshotOf(app)
  t.same(status, { 204: 1, 304: 1 })
  t.same(size, { count: 2, sum: 0, unknown: 0, buckets: [2, 0, 0, 0, 0, 0, 0, 0, 0, 0] })
})

test('status codes are counted per code', async t => {
  const app = await quietApp(t, app => {
    app.post('/clients', async (request, reply) => reply.code(201).send({ id: 'x' }))
    app.get('/clients/:id', async (request, reply) => reply.code(404).send())
    app.post('/oauth2/token', async () => { throw new Error('boom') })
  })
  await app.inject({ method: 'POST', url: '/clients' })
  await app.inject({ method: 'POST', url: '/clients' })
  await app.inject('/clients/alice')
  await app.inject({ method: 'POST', url: '/oauth2/token' })
  await app.inject('/no-such-route')
  const snapshot = snapshotOf(app)
  t.same(snapshot.status, { 201: 2, 404: 2, 500: 1 })
  t.same(snapshot.paths['/clients'].methods.POST?.status, { 201: 2 })
  t.same(snapshot.paths['/'].status, { 404: 1 })
})

/**
 * A listening app whose `/clients/:id` handler answers only when told to, and a client that gives up first:
 * resolves once the telemetry plugin (whose hook runs before this one) has seen the abort.
 */
async function abandonRequest (t: Test, routeConfig: { telemetry?: boolean }): Promise<FastifyInstance> {
  let enter!: () => void
  const entered = new Promise<void>(resolve => { enter = resolve })
  let release!: () => void
  const released = new Promise<void>(resolve => { release = resolve })
  let observe!: () => void
  const aborted = new Promise<void>(resolve => { observe = resolve })
  const app = await quietApp(t, app => {
    app.addHook('onRequestAbort', (request, done) => { observe(); done() })
    app.get('/clients/:id', { config: routeConfig }, async () => {
      enter()
      await released
      return 'too late'
    })
  })
  t.teardown(release)
  await app.listen({ host: '127.0.0.1', port: 0 })
  const { port } = app.server.address() as AddressInfo
  const client = request({ host: '127.0.0.1', port, path: '/clients/alice', agent: false })
  client.on('error', () => {})
  client.end()
  await entered
  client.destroy()
  await aborted
  return app
}

test('a request the client abandons before the answer counts as aborted', async t => {
  const app = await abandonRequest(t, {})
  const clients = snapshotOf(app).paths['/clients']
  t.equal(clients.requests, 1)
  t.equal(clients.aborted, 1)
  t.equal(clients.methods.GET?.aborted, 1)
  t.equal(snapshotOf(app).aborted, 1)
})

test('an abandoned request on an opted-out route counts nowhere', async t => {
  const app = await abandonRequest(t, { telemetry: false })
  const snapshot = snapshotOf(app)
  t.equal(snapshot.requests, 0)
  t.equal(snapshot.aborted, 0)
})

/** Adds records the way a consumer of many reports would: bucket by bucket, status by status. */
function sum (records: MetricsRecord[]): MetricsRecord {
  const total = new MetricsCell().toRecord()
  for (const record of records) {
    total.requests += record.requests
    total.responses += record.responses
    total.aborted += record.aborted
    total.latency.count += record.latency.count
    total.latency.sum += record.latency.sum
    total.size.count += record.size.count
    total.size.sum += record.size.sum
    total.size.unknown += record.size.unknown
    record.latency.buckets.forEach((count, index) => { total.latency.buckets[index] += count })
    record.size.buckets.forEach((count, index) => { total.size.buckets[index] += count })
    for (const [code, count] of Object.entries(record.status)) total.status[code] = (total.status[code] ?? 0) + count
  }
  return total
}

/** Every field but the latency sum, which each record rounds on its own. */
function exact (record: MetricsRecord): object {
  const { requests, responses, aborted, latency, size, status } = record
  return { requests, responses, aborted, latency: { count: latency.count, buckets: latency.buckets }, size, status }
}

async function busyApp (t: Test): Promise<FastifyInstance> {
  const app = await quietApp(t, app => {
    app.get('/clients', async () => ({ clients: [] }))
    app.post('/clients', async (request, reply) => reply.code(201).send({ id: 'x' }))
    app.route({ method: ['PUT', 'DELETE'], url: '/clients/:id', handler: async (request, reply) => reply.code(204).send() })
    app.post('/oauth2/token', async () => 'x'.repeat(5000))
    app.get('/files/*', async (request, reply) => reply.send(Readable.from(['file'])))
  })
  for (const [method, url] of [
    ['GET', '/clients'], ['GET', '/clients'], ['POST', '/clients'], ['PUT', '/clients/a'], ['DELETE', '/clients/a'],
    ['POST', '/oauth2/token'], ['GET', '/files/a'], ['GET', '/nope'], ['PATCH', '/clients']
  ] as const) {
    await app.inject({ method, url })
  }
  return app
}

test('the totals equal the sum of the methods and the sum of the paths', async t => {
  const snapshot = snapshotOf(await busyApp(t))
  const byMethod = sum(Object.values(snapshot.methods))
  const byPath = sum(Object.values(snapshot.paths))
  t.equal(snapshot.requests, 9)
  t.same(exact(byMethod), exact(snapshot))
  t.same(exact(byPath), exact(snapshot))
  t.ok(Math.abs(byMethod.latency.sum - snapshot.latency.sum) < 0.01)
  t.ok(Math.abs(byPath.latency.sum - snapshot.latency.sum) < 0.01)
})

test('each path equals the sum of its own methods', async t => {
  const snapshot = snapshotOf(await busyApp(t))
  for (const [endpoint, path] of Object.entries(snapshot.paths)) {
    t.same(exact(sum(Object.values(path.methods))), exact(path), endpoint)
  }
})

test('only endpoints and methods with traffic appear', async t => {
  const snapshot = snapshotOf(await busyApp(t))
  t.same(Object.keys(snapshot.paths), ['/', '/clients', '/files', '/oauth2/token'], '/oauth2/auth and /health had no traffic')
  t.same(Object.keys(snapshot.paths['/clients'].methods).sort(), ['DELETE', 'GET', 'POST', 'PUT'])
  t.same(Object.keys(snapshot.methods).sort(), ['DELETE', 'GET', 'PATCH', 'POST', 'PUT'])
})

test('counters are cumulative: a later snapshot includes everything an earlier one did', async t => {
  const app = await quietApp(t, app => app.get('/clients', async () => 'ok'))
  await app.inject('/clients')
  const first = snapshotOf(app)
  await app.inject('/clients')
  await app.inject('/clients')
  const second = snapshotOf(app)
  t.equal(first.requests, 1)
  t.equal(second.requests, 3)
  t.equal(second.paths['/clients'].methods.GET?.responses, 3)
  t.equal(second.latency.count, 3)
})
