/// <reference path="../../../../test/helpers/ws.d.ts" />
import { EventEmitter, once } from 'node:events'
import { Agent, request } from 'node:http'
import { connect } from 'node:net'
import { setTimeout } from 'node:timers/promises'
import fastifyWebsocket from '@fastify/websocket'
import Fastify, { type FastifyInstance } from 'fastify'
import { WebSocket } from 'ws'
import { loadPlugin } from '../../helpers/plugin'
import { waitFor } from './receiver'

/** What the test knows of one (endpoint, method): counted on the client side, from what went over the wire. */
export interface Tally { requests: number, responses: number, aborted: number, status: Record<string, number> }
/** The part of a plugin metrics record the test reads. */
export interface PluginRecord { requests: number, responses: number, aborted: number, latency: { buckets: number[] } }
export interface PluginSnapshot { requests: number, paths: Record<string, { methods: Record<string, PluginRecord> }> }

/** `${endpoint} ${method}` → tally. */
export type Ledger = Map<string, Tally>
export const keyOf = (endpoint: string, method: string): string => `${endpoint} ${method}`

/** The facts and counters every fleet app declares (the plugin's `features` option). */
export const FEATURES = { facts: { storage: ['postgres', 'sqlite', 'memory'] }, counters: ['exports', 'imports'] }

/** Routes every fleet app serves; each app's allow-list is these plus its own extra endpoints. */
export const ENDPOINTS = ['/gt-orders', '/gt-items', '/gt-fail', '/gt-slow', '/gt-live', '/gt-hold']

export interface FleetAppOptions {
  writeKey: string
  host: string
  issuerUrl: string
  version: string
  /** Extra literal GET routes, each allow-listed (enough of them split every report into parts). */
  extra?: string[]
}

/**
 * One running installation: a Fastify app with the real plugin (from the root build) listening on 127.0.0.1, fed
 * by real HTTP over sockets; every request goes into `ledger` under the endpoint the plugin must count it in,
 * with the status the client received.
 */
export class FleetApp {
  readonly ledger: Ledger = new Map()
  /** The value each fact must be reported with (`other` for one off its list), and each counter's uses. */
  readonly facts: Record<string, string> = {}
  readonly uses: Record<string, number> = Object.fromEntries(FEATURES.counters.map(name => [name, 0]))
  private readonly agent = new Agent({ keepAlive: true, maxSockets: 4 })
  /** Ids of requests that have ended on the server, seen by hooks that run after the plugin's. */
  private readonly ended = new Set<string>()
  private readonly signal = new EventEmitter()
  private base = ''

  private constructor (readonly app: FastifyInstance, readonly options: FleetAppOptions) {}

  static async start (options: FleetAppOptions): Promise<FleetApp> {
    const { default: telemetry } = loadPlugin()
    const app = Fastify()
    const fleetApp = new FleetApp(app, options)
    await app.register(telemetry, {
      writeKey: options.writeKey,
      host: options.host,
      issuerUrl: options.issuerUrl,
      version: options.version,
      endpoints: [...ENDPOINTS, ...options.extra ?? []],
      features: FEATURES,
      // Milliseconds instead of minutes; a generous flush so that close() delivers the final report under load.
      identifyAfter: 20,
      reportInterval: 150,
      keepAliveInterval: 100,
      flushTimeout: 10_000
    })
    await app.register(fastifyWebsocket)
    fleetApp.routes()
    fleetApp.base = await app.listen({ port: 0, host: '127.0.0.1' })
    return fleetApp
  }

  private routes (): void {
    const { app } = this
    const end = (id: string): void => { this.ended.add(id); this.signal.emit('change') }
    app.addHook('onResponse', async request => end(request.id))
    app.addHook('onRequestAbort', async request => end(request.id))
    app.get('/gt-orders', async () => ({ orders: [] }))
    app.post('/gt-orders', async (request, reply) => await reply.code(201).send({ id: 1 }))
    app.put('/gt-items', async () => ({ ok: true }))
    app.delete('/gt-items', async (request, reply) => await reply.code(204).send())
    app.get('/gt-fail', async () => { throw new Error('boom') })
    app.get('/gt-slow', async request => await setTimeout(Number((request.query as { ms: string }).ms), 'done'))
    app.post('/gt-fail', async (request, reply) => await reply.code(502).send({ upstream: 'down' }))
    app.get('/gt-live', { websocket: true }, (socket, request) => {
      end(request.id)
      socket.on('message', (message: Buffer) => socket.send(message.toString()))
    })
    // Answers at once with ?now, else holds the request until the client leaves.
    app.get('/gt-hold', async (request, reply) => {
      if ((request.query as { now?: string }).now !== undefined) return 'now'
      this.signal.emit('held')
      await once(reply.raw, 'close')
      return 'too late'
    })
    for (const path of this.options.extra ?? []) app.get(path, async () => path)
  }

  get clusterId (): string { return (this.app as any).telemetry.clusterId }
  get instanceId (): string { return (this.app as any).telemetry.instanceId }

  /** Every request sent so far. */
  get sent (): number {
    let n = 0
    for (const tally of this.ledger.values()) n += tally.requests
    return n
  }

  private tally (endpoint: string, method: string): Tally {
    const key = keyOf(endpoint, method)
    const tally = this.ledger.get(key) ?? { requests: 0, responses: 0, aborted: 0, status: {} }
    this.ledger.set(key, tally)
    return tally
  }

  private count (endpoint: string, method: string, status: number | 'aborted'): void {
    const tally = this.tally(endpoint, method)
    tally.requests++
    if (status === 'aborted') {
      tally.aborted++
      return
    }
    tally.responses++
    tally.status[status] = (tally.status[status] ?? 0) + 1
  }

  /** One HTTP request; `endpoint` is where the plugin must count it (`/` for a path no allow-listed route serves). */
  async send (method: string, path: string, endpoint = path.split('?')[0]): Promise<number> {
    const status = await new Promise<number>((resolve, reject) => {
      const sent = request(`${this.base}${path}`, { method, agent: this.agent }, response => {
        response.resume()
        response.on('end', () => resolve(response.statusCode as number))
      })
      sent.on('error', reject)
      sent.end()
    })
    this.count(endpoint, method, status)
    return status
  }

  /** A websocket round trip: the upgrade (counted as a 101 response), one echo, close. */
  async websocket (): Promise<string> {
    const client = new WebSocket(`${this.base.replace('http', 'ws')}/gt-live`)
    await once(client, 'open')
    client.send('ping')
    const [message] = await once(client, 'message') as [Buffer]
    client.close()
    await once(client, 'close')
    this.count('/gt-live', 'GET', 101)
    return message.toString()
  }

  /** A request the client gives up on: its socket is destroyed while the handler still holds it. */
  async abort (): Promise<void> {
    const held = once(this.signal, 'held')
    const { port } = this.app.server.address() as { port: number }
    const socket = connect(port, '127.0.0.1')
    socket.on('error', () => {})
    socket.write('GET /gt-hold HTTP/1.1\r\nHost: 127.0.0.1\r\n\r\n')
    await held
    socket.destroy()
    this.count('/gt-hold', 'GET', 'aborted')
  }

  /** Sets a fact through the plugin's API. */
  fact (name: keyof typeof FEATURES.facts, value: string): void {
    (this.app as any).telemetry.fact(name, value)
    this.facts[name] = FEATURES.facts[name].includes(value) ? value : 'other'
  }

  /** Counts `n` uses of a feature through the plugin's API. */
  use (name: string, n: number): void {
    (this.app as any).telemetry.counter(name).inc(n)
    this.uses[name] += n
  }

  /** Resolves once every request sent has ended on the server (so the plugin has counted it). */
  async settled (): Promise<void> {
    await waitFor(this.signal, `${this.options.issuerUrl}: ${this.sent} requests ended on the server`, () => this.ended.size === this.sent)
  }

  /** The plugin's own counters right now (the final report carries exactly these once nothing is in flight). */
  snapshot (): PluginSnapshot {
    return (this.app as any).telemetry.snapshot()
  }

  async close (): Promise<void> {
    this.agent.destroy()
    await this.app.close()
  }
}
