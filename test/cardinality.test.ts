import Fastify, { type FastifyInstance } from 'fastify'
import t, { test, type Test } from 'tap'
import fastifyTelemetry, { METHODS } from '../lib/index'
import { Recorder, kCell } from '../lib/recorder'
import { addRoutes, ENDPOINTS } from './helpers/app'
import { useEnv } from './helpers/env'
import { pipeline, rawRequest } from './helpers/raw-http'
import { quietOptions, snapshotOf } from './helpers/snapshot'

useEnv(t)

const DISTINCT_URLS = 100_000
/** Requests per pipelined connection, and connections at a time. */
const PIPELINE = 1000
const CONNECTIONS = 4

/** The i-th of `DISTINCT_URLS` requests, each to a URL no other request uses, over every kind of route and a 404. */
function distinctRequest (i: number): Buffer {
  switch (i % 10) {
    case 0: return rawRequest('GET', `/clients/${i}`)
    case 1: return rawRequest('POST', `/clients/${i}/secret`)
    case 2: return rawRequest('GET', `/files/${i}/${i}.txt`)
    case 3: return rawRequest('GET', `/numbers/${i}`)
    case 4: return rawRequest('GET', `/nope/${i}`)
    case 5: return rawRequest('GET', `/x${i}`)
    case 6: return rawRequest('GET', `/tenant${i}/users/${i}`)
    case 7: return rawRequest('GET', `/clients?page=${i}`)
    case 8: return rawRequest('PROPFIND', `/dav/${i}`)
    default: return rawRequest('GET', `/private?i=${i}`)
  }
}

/** Requests `distinctRequest(i)` that the app counts: all but those to the opted-out `/private`. */
const COUNTED = DISTINCT_URLS - DISTINCT_URLS / 10

/** The shared test routes plus a `/:tenant` prefix; counts every route the app registers (HEAD routes included). */
async function listen (t: Test, app: FastifyInstance): Promise<{ port: number, routes: number }> {
  t.teardown(() => app.close())
  let routes = 0
  app.addHook('onRoute', () => { routes++ })
  addRoutes(app)
  await app.register(async tenant => {
    tenant.get('/users/:id', async () => ({ user: 'x' }))
  }, { prefix: '/:tenant' })
  await app.listen({ port: 0, host: '127.0.0.1' })
  const { port } = app.server.address() as { port: number }
  return { port, routes }
}

/** Sends all `DISTINCT_URLS` requests over real sockets, pipelined; returns how many were answered. */
async function flood (port: number): Promise<number> {
  let answered = 0
  for (let start = 0; start < DISTINCT_URLS; start += PIPELINE * CONNECTIONS) {
    await Promise.all(Array.from({ length: CONNECTIONS }, async (_, connection) => {
      const first = start + connection * PIPELINE
      const requests = Array.from({ length: Math.min(PIPELINE, DISTINCT_URLS - first) }, (_, i) => distinctRequest(first + i))
      const statuses = await pipeline(port, requests)
      answered += statuses.length
    }))
  }
  return answered
}

test(`${DISTINCT_URLS} requests to ${DISTINCT_URLS} distinct URLs leave at most allow-list + routes paths in a report`, async t => {
  const app = Fastify()
  await app.register(fastifyTelemetry, quietOptions(ENDPOINTS))
  const { port, routes } = await listen(t, app)
  const allowList = app.telemetry.endpoints.length
  t.equal(await flood(port), DISTINCT_URLS, 'every request answered')
  const snapshot = snapshotOf(app)
  const paths = Object.keys(snapshot.paths)
  t.equal(snapshot.requests, COUNTED, 'every request counted, but the opted-out ones')
  t.ok(paths.length <= allowList + routes, `${paths.length} paths (allow-list ${allowList}, routes ${routes})`)
  t.same(paths.filter(path => !app.telemetry.endpoints.includes(path)), [], 'every path is allow-listed')
  t.comment(`cardinality: ${DISTINCT_URLS} distinct URLs, ${snapshot.requests} counted -> ${paths.length} paths in the report ` +
    `(bound: allow-list ${allowList} + routes ${routes} = ${allowList + routes})`)
})

test(`${DISTINCT_URLS} distinct URLs leave the recorder with at most one record per route, even without an allow-list`, async t => {
  // The Recorder on its own, wired as the plugin wires it, in discovery mode (dry run without `endpoints`): the one
  // mode in which its map is not fixed by the allow-list up front, so the one that could grow.
  const recorder = new Recorder(null)
  const app = Fastify()
  app.decorateRequest(kCell, null)
  app.addHook('onRoute', recorder.telemetryOnRoute)
  app.addHook('onRequest', recorder.telemetryOnRequest)
  app.addHook('onResponse', recorder.telemetryOnResponse)
  app.addHook('onRequestAbort', recorder.telemetryOnRequestAbort)
  const { port, routes } = await listen(t, app)
  const endpointsBefore = [...recorder.endpoints.keys()].sort()
  t.equal(await flood(port), DISTINCT_URLS, 'every request answered')
  const endpoints = [...recorder.endpoints.keys()].sort()
  const cells = [...recorder.endpoints.values()].flat().filter(cell => cell !== undefined)
  const statusKeys = cells.reduce((sum, cell) => sum + cell.status.size, 0)
  t.same(endpoints, endpointsBefore, 'the flood added no endpoint record: records come from routes, not from URLs')
  t.ok(endpoints.length <= routes + 1, `${endpoints.length} endpoint records for ${routes} routes (+ / for 404s)`)
  t.ok(cells.length <= endpoints.length * METHODS.length, `${cells.length} method cells, at most ${METHODS.length} per endpoint`)
  t.equal(cells.reduce((sum, cell) => sum + cell.requests, 0), COUNTED, 'every request counted, but the opted-out ones')
  t.comment(`cardinality: ${DISTINCT_URLS} distinct URLs -> ${endpoints.length} endpoint records, ${cells.length} ` +
    `method cells, ${statusKeys} status keys in the recorder (${routes} routes)`)
})
