import { EventEmitter, once } from 'node:events'
import fastifySwagger from '@fastify/swagger'
import fastifySwaggerUi from '@fastify/swagger-ui'
import fastifyWebsocket from '@fastify/websocket'
import Fastify, { type FastifyInstance } from 'fastify'
import t, { test, type Test } from 'tap'
import { useEnv } from './helpers/env'
import { LAYOUTS, type DeclareRoutes, type Layout } from './helpers/layouts'
import { quietOptions, snapshotOf } from './helpers/snapshot'
import { echo, listeningPort } from './helpers/websocket'

useEnv(t)

// Every route counts the same whatever the order of registration. A context copies the request decorators that
// exist when it is created, so the requests of contexts registered before the plugin (an encapsulated plugin, a file
// autoload loads first, @fastify/static inside @fastify/swagger-ui) never get the plugin's default slot value.

const ENDPOINTS = ['/docs', '/ws', '/assets', '/slow', '/api']

/**
 * An app as found in the wild: @fastify/swagger-ui (whose files an encapsulated @fastify/static serves, answering a
 * missing one with `reply.callNotFound()`), @fastify/websocket, a route that answers through `callNotFound`, one
 * held open until `probe` says `release`, and a prefixed plugin.
 */
function declareApp (probe: EventEmitter): DeclareRoutes {
  return async app => {
    // Awaited: its onRoute hook must be in place before the websocket route is declared.
    await app.register(fastifyWebsocket)
    app.register(fastifySwagger)
    app.register(fastifySwaggerUi, { routePrefix: '/docs' })
    app.get('/ws', { websocket: true }, socket => {
      socket.on('message', (message: Buffer) => socket.send(message.toString()))
    })
    app.get('/assets/*', async (request, reply) => reply.callNotFound())
    app.get('/slow', async () => {
      probe.emit('held')
      await once(probe, 'release')
      return 'done'
    })
    app.register(async api => {
      api.get('/things/:id', async () => ({ id: 1 }))
    }, { prefix: '/api' })
  }
}

async function start (t: Test, layout: Layout): Promise<{ app: FastifyInstance, port: number, probe: EventEmitter }> {
  const probe = new EventEmitter()
  const app = Fastify()
  t.teardown(() => app.close())
  await layout.compose(app, quietOptions(ENDPOINTS), declareApp(probe))
  await app.listen({ port: 0, host: '127.0.0.1' })
  return { app, port: listeningPort(app), probe }
}

/** `{ 'METHOD endpoint': { requests, responses, aborted, status } }`: everything a report says of each endpoint. */
function outcomes (app: FastifyInstance): Record<string, object> {
  const counted: Record<string, object> = {}
  for (const [endpoint, path] of Object.entries(snapshotOf(app).paths)) {
    for (const [method, { requests, responses, aborted, status }] of Object.entries(path.methods)) {
      counted[`${method} ${endpoint}`] = { requests, responses, aborted, status }
    }
  }
  return counted
}

/** Swagger UI's page (a redirect to its index), its document and two of its files, a prefixed route, and an unknown URL. */
const TRAFFIC = ['/docs', '/docs/json', '/docs/static/index.html', '/docs/static/swagger-ui.css', '/api/things/1', '/api/nope']

for (const layout of LAYOUTS) {
  test(layout.name, async t => {
    const { app, port, probe } = await start(t, layout)

    t.test('a request still in flight is in the snapshot', async t => {
      const held = once(probe, 'held')
      const response = app.inject('/slow')
      await held
      t.match(snapshotOf(app).paths['/slow'], { requests: 1, responses: 0 })
      probe.emit('release')
      t.equal((await response).body, 'done')
    })

    t.test('a completed websocket upgrade counts as a 101 response', async t => {
      t.equal(await echo(port), 'hi')
      t.match(snapshotOf(app).paths['/ws'], { requests: 1, responses: 1, status: { 101: 1 } })
    })

    t.test("reply.callNotFound() 404s count under the route's endpoint, @fastify/static's inside swagger-ui too", async t => {
      for (const url of ['/docs/static/missing.js', '/assets/missing.css']) t.equal((await app.inject(url)).statusCode, 404, url)
      t.match(snapshotOf(app).paths, { '/docs': { status: { 404: 1 } }, '/assets': { status: { 404: 1 } } })
    })

    t.test('every endpoint counts the same requests and outcomes as in every other layout', async t => {
      for (const url of TRAFFIC) await app.inject(url)
      // With the requests of the tests above.
      t.same(outcomes(app), {
        'GET /': { requests: 1, responses: 1, aborted: 0, status: { 404: 1 } },
        'GET /api': { requests: 1, responses: 1, aborted: 0, status: { 200: 1 } },
        'GET /assets': { requests: 1, responses: 1, aborted: 0, status: { 404: 1 } },
        'GET /docs': { requests: 5, responses: 5, aborted: 0, status: { 200: 3, 302: 1, 404: 1 } },
        'GET /slow': { requests: 1, responses: 1, aborted: 0, status: { 200: 1 } },
        'GET /ws': { requests: 1, responses: 1, aborted: 0, status: { 101: 1 } }
      })
    })
  })
}
