import { EventEmitter, once } from 'node:events'
import { createServer, get, ServerResponse, type IncomingMessage } from 'node:http'
import { connect, type Socket } from 'node:net'
import { Readable } from 'node:stream'
import fastifyWebsocket from '@fastify/websocket'
import Fastify, { type FastifyInstance } from 'fastify'
import t, { test, type Test } from 'tap'
import { WebSocket, WebSocketServer } from 'ws'
import fastifyTelemetry, { type MetricsRecord, type TelemetrySnapshot } from '../lib/index'
import { useEnv } from './helpers/env'
import { rawRequest } from './helpers/raw-http'
import { quietOptions, snapshotOf } from './helpers/snapshot'
import { echo, listeningPort } from './helpers/websocket'

useEnv(t)

// Every counted request ends exactly once: as a response or as aborted, whatever the traffic shape.

const ENDPOINTS = ['/ws', '/hijack', '/sse', '/upload', '/proxy', '/assets']

/** Every metrics record of a snapshot, named: the totals, each method, each endpoint and each endpoint's methods. */
function records (snapshot: TelemetrySnapshot): Array<[string, MetricsRecord]> {
  const named: Array<[string, MetricsRecord]> = [['totals', snapshot]]
  for (const [method, record] of Object.entries(snapshot.methods)) named.push([method, record])
  for (const [path, record] of Object.entries(snapshot.paths)) {
    named.push([path, record])
    for (const [method, methodRecord] of Object.entries(record.methods)) named.push([`${method} ${path}`, methodRecord])
  }
  return named
}

/** An upstream server for the proxied route: 1 000 bytes with their length. */
async function startUpstream (t: Test): Promise<number> {
  const upstream = createServer((request, response) => {
    response.writeHead(200, { 'content-type': 'text/plain', 'content-length': 1000 })
    response.end('x'.repeat(1000))
  })
  upstream.listen(0, '127.0.0.1')
  await once(upstream, 'listening')
  t.teardown(() => { upstream.close() })
  return (upstream.address() as { port: number }).port
}

/**
 * A listening app with telemetry and `@fastify/websocket`, and a route for each traffic shape. `probe` tells the
 * test when a request has ended on the server, from hooks and listeners that run after the plugin's own.
 */
async function startApp (t: Test): Promise<{ app: FastifyInstance, port: number, probe: EventEmitter }> {
  const upstreamPort = await startUpstream(t)
  const probe = new EventEmitter()
  const app = Fastify()
  t.teardown(() => app.close())
  await app.register(fastifyTelemetry, quietOptions(ENDPOINTS))
  await app.register(fastifyWebsocket)
  app.addHook('onResponse', async request => { probe.emit('response', request.url) })
  app.addHook('onRequestAbort', async request => { probe.emit('abort', request.url) })

  app.get('/ws', { websocket: true }, socket => {
    socket.on('message', (message: Buffer) => socket.send(message.toString()))
  })
  app.get('/ws/private', { websocket: true, config: { telemetry: false } }, socket => socket.close())
  app.get('/ws/guarded', {
    websocket: true,
    onRequest: async (request, reply) => reply.code(401).send()
  }, socket => socket.close())
  // A hook drops the connection before the upgrade (Node stops reading an upgrade's socket, so the server only
  // sees a socket close that happens on its side).
  app.get('/ws/dropped', {
    websocket: true,
    preHandler: async request => {
      request.raw.socket.once('close', () => probe.emit('dropped'))
      request.raw.socket.destroy()
    }
  }, socket => socket.close())
  // Another websocket library takes the upgrade before @fastify/websocket sees it.
  const foreign = new WebSocketServer({ noServer: true })
  t.teardown(() => foreign.close())
  app.get('/ws/foreign', {
    onRequest: async (request, reply) => {
      reply.hijack()
      foreign.handleUpgrade(request.raw, request.raw.socket, Buffer.alloc(0), socket => {
        socket.on('close', () => probe.emit('foreign closed'))
        socket.close()
      })
    }
  }, async () => 'never')

  app.get('/hijack', async (request, reply) => {
    reply.hijack()
    reply.raw.writeHead(200, { 'content-length': 8 })
    reply.raw.end('12345678')
  })
  app.get('/sse', async (request, reply) => {
    reply.header('content-type', 'text/event-stream')
    return Readable.from(['data: 1\n\n', 'data: 2\n\n', 'data: 3\n\n'])
  })
  app.get('/sse/forever', async (request, reply) => {
    reply.header('content-type', 'text/event-stream')
    // One event, then nothing until the client leaves.
    return new Readable({ read () { if (this.readableLength === 0 && !this.readableEnded) this.push('data: 1\n\n') } })
  })
  app.post('/upload', { onRequest: async () => { probe.emit('upload started') } }, async () => 'stored')
  app.get('/proxy', async (request, reply) => {
    const [upstream] = await once(get(`http://127.0.0.1:${upstreamPort}/`), 'response') as [IncomingMessage]
    return reply.header('content-length', upstream.headers['content-length']).send(upstream)
  })
  app.get('/assets/*', async (request, reply) => reply.callNotFound())

  await app.listen({ port: 0, host: '127.0.0.1' })
  return { app, port: listeningPort(app), probe }
}

/** A raw socket that sends `bytes` and is destroyed once `ready` (the server has seen the request) resolves. */
async function sendAndLeave (port: number, bytes: Buffer, ready: Promise<unknown>): Promise<void> {
  const socket: Socket = connect(port, '127.0.0.1')
  socket.on('error', () => {})
  socket.write(bytes)
  await ready
  socket.destroy()
}

test('websocket, hijack, SSE, an aborted upload and a proxied stream over real sockets: every record has requests = responses + aborted', async t => {
  const { app, port, probe } = await startApp(t)

  // Three completed upgrades: each a response with status 101, once the handler has echoed.
  for (let i = 0; i < 3; i++) t.equal(await echo(port), 'hi')
  // An upgrade on an opted-out route, counted nowhere.
  const opted = new WebSocket(`ws://127.0.0.1:${port}/ws/private`)
  await once(opted, 'close')
  // An upgrade refused by a hook: a 401 response.
  const refused = new WebSocket(`ws://127.0.0.1:${port}/ws/guarded`)
  refused.on('error', () => {})
  await Promise.all([once(refused, 'unexpected-response'), once(probe, 'response')])
  refused.terminate()
  // A socket that closes before its upgrade completes: aborted.
  const dropped = once(probe, 'dropped')
  const droppedClient = new WebSocket(`ws://127.0.0.1:${port}/ws/dropped`)
  droppedClient.on('error', () => {})
  await dropped
  // An upgrade another library takes: ends when its socket closes, as aborted.
  const foreignClosed = once(probe, 'foreign closed')
  const foreign = new WebSocket(`ws://127.0.0.1:${port}/ws/foreign`)
  foreign.on('error', () => {})
  await foreignClosed

  // A hijacked reply, over a socket and through inject.
  const [hijacked] = await Promise.all([fetchText(port, '/hijack'), once(probe, 'response')])
  t.equal(hijacked, '12345678')
  t.equal((await app.inject('/hijack')).body, '12345678')
  // SSE: one stream that ends, one the client leaves.
  const [events] = await Promise.all([fetchText(port, '/sse'), once(probe, 'response')])
  t.equal(events, 'data: 1\n\ndata: 2\n\ndata: 3\n\n')
  const left = once(probe, 'abort')
  const sse = get(`http://127.0.0.1:${port}/sse/forever`, response => response.once('data', () => sse.destroy()))
  sse.on('error', () => {})
  await left
  // An upload the client abandons halfway.
  const abandoned = once(probe, 'abort')
  await sendAndLeave(port, rawRequest('POST', '/upload', { 'content-type': 'text/plain', 'content-length': '100000' }, 'x'.repeat(10)), once(probe, 'upload started'))
  await abandoned
  // A proxied stream with the upstream's length; a missing asset answered through callNotFound.
  const [proxied] = await Promise.all([fetchText(port, '/proxy'), once(probe, 'response')])
  t.equal(proxied.length, 1000)
  const [missing] = await Promise.all([fetch(`http://127.0.0.1:${port}/assets/missing.css`), once(probe, 'response')])
  t.equal(missing.status, 404)

  const snapshot = snapshotOf(app)
  for (const [name, record] of records(snapshot)) {
    t.equal(record.requests, record.responses + record.aborted, `${name}: ${record.requests} = ${record.responses} + ${record.aborted}`)
  }
  const paths = snapshot.paths
  t.match(paths['/ws'].methods.GET, { requests: 6, responses: 4, aborted: 2, status: { 101: 3, 401: 1 } }, 'websocket')
  t.match(paths['/hijack'].methods.GET, { requests: 2, responses: 2, status: { 200: 2 }, size: { count: 2, sum: 16, unknown: 0 } }, 'hijack')
  t.match(paths['/sse'].methods.GET, { requests: 2, responses: 1, aborted: 1, size: { unknown: 1 } }, 'SSE')
  t.match(paths['/upload'].methods.POST, { requests: 1, responses: 0, aborted: 1 }, 'aborted upload')
  t.match(paths['/proxy'].methods.GET, { requests: 1, responses: 1, size: { count: 1, sum: 1000, unknown: 0 } }, 'proxied stream')
  t.match(paths['/assets'].methods.GET, { requests: 1, responses: 1, status: { 404: 1 } }, 'callNotFound')
  t.match(snapshot, { requests: 13, responses: 9, aborted: 4 }, 'totals')
  t.notOk('/' in paths, 'nothing fell back to /')
  t.comment(`endings: ${snapshot.requests} requests = ${snapshot.responses} responses + ${snapshot.aborted} aborted, ` +
    `requests = responses + aborted in each of ${records(snapshot).length} records`)
})

async function fetchText (port: number, url: string): Promise<string> {
  return await (await fetch(`http://127.0.0.1:${port}${url}`)).text()
}

test('a hijacked reply that writes its own content-length counts the same size through inject and over a socket', async t => {
  const app = Fastify()
  t.teardown(() => app.close())
  await app.register(fastifyTelemetry, quietOptions(ENDPOINTS))
  app.get('/hijack', async (request, reply) => {
    reply.hijack()
    reply.raw.writeHead(200, { 'content-length': 8 })
    reply.raw.end('12345678')
  })
  const probe = new EventEmitter()
  app.addHook('onResponse', async () => { probe.emit('response') })
  await app.listen({ port: 0, host: '127.0.0.1' })
  const sizes = (): MetricsRecord['size'] => snapshotOf(app).paths['/hijack'].size
  await app.inject('/hijack')
  const injected = sizes()
  await Promise.all([fetchText(listeningPort(app), '/hijack'), once(probe, 'response')])
  t.match(injected, { count: 1, sum: 8, unknown: 0 }, 'inject')
  t.match(sizes(), { count: 2, sum: 16, unknown: 0 }, 'socket')
})

test('an upgrade routed into Fastify by another library than @fastify/websocket ends, as aborted, when its socket closes', async t => {
  const app = Fastify()
  t.teardown(() => app.close())
  await app.register(fastifyTelemetry, quietOptions(ENDPOINTS))
  const probe = new EventEmitter()
  app.get('/ws', async (request, reply) => {
    reply.hijack()
    request.raw.socket.once('close', () => probe.emit('closed'))
    request.raw.socket.destroy()
  })
  await app.ready()
  // What an upgrade library does: take Node's 'upgrade' event and hand the request to Fastify's router.
  app.server.on('upgrade', (request: IncomingMessage, socket: Socket) => {
    const response = new ServerResponse(request)
    response.assignSocket(socket)
    app.routing(request, response)
  })
  await app.listen({ port: 0, host: '127.0.0.1' })
  const client = new WebSocket(`ws://127.0.0.1:${listeningPort(app)}/ws`)
  client.on('error', () => {})
  await once(probe, 'closed')
  t.match(snapshotOf(app).paths['/ws'], { requests: 1, responses: 0, aborted: 1 })
})

test('a request the client leaves while an earlier hook runs is counted once, as aborted, before the plugin\'s onRequest', async t => {
  const app = Fastify()
  t.teardown(() => app.close())
  const probe = new EventEmitter()
  // Registered before telemetry: holds the request until Fastify has run onRequestAbort.
  app.addHook('onRequest', (request, reply, done) => {
    request.raw.once('close', () => setImmediate(() => { done(); probe.emit('released') }))
    probe.emit('held')
  })
  await app.register(fastifyTelemetry, quietOptions(ENDPOINTS))
  app.post('/upload', async () => 'stored')
  await app.listen({ port: 0, host: '127.0.0.1' })
  const released = once(probe, 'released')
  await sendAndLeave(listeningPort(app), rawRequest('POST', '/upload', { 'content-length': '10' }, 'x'), once(probe, 'held'))
  await released
  t.match(snapshotOf(app).paths['/upload'], { requests: 1, responses: 0, aborted: 1 })
})

test('listeners: none per request on a keep-alive socket; one per websocket server, removed on close', async t => {
  const app = Fastify()
  await app.register(fastifyTelemetry, quietOptions(ENDPOINTS))
  await app.register(fastifyWebsocket)
  const counts: number[] = []
  app.get('/upload', async request => {
    counts.push(request.raw.socket.listenerCount('close'))
    return 'ok'
  })
  app.get('/ws', { websocket: true }, socket => {
    socket.on('message', (message: Buffer) => socket.send(message.toString()))
  })
  await app.listen({ port: 0, host: '127.0.0.1' })
  const port = listeningPort(app)
  const before = app.websocketServer.listenerCount('connection')
  for (let i = 0; i < 20; i++) await fetchText(port, '/upload')
  t.equal(new Set(counts).size, 1, `${counts[0]} 'close' listeners on the socket at every request`)
  await echo(port)
  await echo(port)
  t.equal(app.websocketServer.listenerCount('connection'), before + 1, "one 'connection' listener, whatever the number of upgrades")
  const server = app.websocketServer
  await app.close()
  t.equal(server.listenerCount('connection'), before, 'removed on close')
})

test('injectWS, which skips Node\'s parser, ends its upgrades too; inject with an Upgrade header is an ordinary request', async t => {
  const app = Fastify()
  t.teardown(() => app.close())
  await app.register(fastifyTelemetry, quietOptions(ENDPOINTS))
  await app.register(fastifyWebsocket)
  app.get('/ws', { websocket: true }, socket => {
    socket.on('message', (message: Buffer) => socket.send(message.toString()))
  })
  app.get('/hijack', async () => 'plain')
  await app.ready()
  const client = await app.injectWS('/ws')
  client.send('hi')
  await once(client, 'message')
  client.terminate()
  t.equal((await app.inject({ url: '/hijack', headers: { connection: 'upgrade', upgrade: 'websocket' } })).body, 'plain')
  const { paths } = snapshotOf(app)
  t.match(paths['/ws'], { requests: 1, responses: 1, aborted: 0, status: { 101: 1 } })
  t.match(paths['/hijack'], { requests: 1, responses: 1, aborted: 0, status: { 200: 1 } })
})
