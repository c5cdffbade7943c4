import { once } from 'node:events'
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http'
import type { AddressInfo, Socket } from 'node:net'

/** How the collector misbehaves; `ok` accepts every valid batch. */
export type Fault = 'ok' | '500' | '429' | '400' | 'hang' | 'reset' | 'trickle'

export interface CollectedEvent {
  type: 'identify' | 'track'
  event?: string
  anonymousId: string
  messageId: string
  timestamp: string
  context: { ip: string, library: { name: string, version: string }, [key: string]: unknown }
  traits?: Record<string, any>
  properties?: Record<string, any>
  [key: string]: unknown
}

interface Waiter {
  predicate: (events: CollectedEvent[]) => boolean
  resolve: () => void
}

/**
 * A Segment-compatible collector on 127.0.0.1: `POST /v1/batch` with Basic auth of the write key. It keeps
 * every raw body (privacy tests search bytes, not parsed objects) and can be told to fail in the ways a real
 * collector or network does.
 */
export class Collector {
  readonly rawBodies: string[] = []
  readonly events: CollectedEvent[] = []
  /** Requests seen, including refused and failed ones. */
  requests = 0
  fault: Fault = 'ok'
  private readonly waiters = new Set<Waiter>()
  private readonly sockets = new Set<Socket>()

  private constructor (private readonly server: Server, readonly writeKey: string) {}

  static async start (writeKey = 'test-write-key'): Promise<Collector> {
    const server = createServer((req, res) => collector.handle(req, res))
    const collector = new Collector(server, writeKey)
    server.on('connection', socket => {
      collector.sockets.add(socket)
      socket.on('close', () => collector.sockets.delete(socket))
    })
    server.listen(0, '127.0.0.1')
    await once(server, 'listening')
    return collector
  }

  get url (): string {
    const { port } = this.server.address() as AddressInfo
    return `http://127.0.0.1:${port}`
  }

  /** Every byte received, as one string. */
  get allBytes (): string {
    return this.rawBodies.join('\n')
  }

  named (name: string): CollectedEvent[] {
    return this.events.filter(event => (event.type === 'identify' ? 'identify' : event.event) === name)
  }

  /** Resolves once the received events satisfy `predicate`; event-driven, never polls. */
  async waitFor (predicate: (events: CollectedEvent[]) => boolean): Promise<void> {
    if (predicate(this.events)) return
    await new Promise<void>(resolve => this.waiters.add({ predicate, resolve }))
  }

  /** Resolves when at least `count` events named `name` (`identify`, `telemetry`, `keep-alive`) arrived. */
  async waitForEvents (name: string, count = 1): Promise<CollectedEvent[]> {
    await this.waitFor(() => this.named(name).length >= count)
    return this.named(name)
  }

  /** Resolves when `count` more HTTP requests arrived, whatever the collector answered. */
  async waitForRequests (count: number): Promise<void> {
    const target = this.requests + count
    await this.waitFor(() => this.requests >= target)
  }

  async close (): Promise<void> {
    for (const socket of this.sockets) socket.destroy()
    this.server.close()
    await once(this.server, 'close')
  }

  private handle (req: IncomingMessage, res: ServerResponse): void {
    const chunks: Buffer[] = []
    req.on('data', chunk => chunks.push(chunk))
    req.on('end', () => {
      this.requests++
      this.respond(req, res, Buffer.concat(chunks).toString('utf8'))
      this.notify()
    })
  }

  private respond (req: IncomingMessage, res: ServerResponse, body: string): void {
    const expectedAuth = `Basic ${Buffer.from(`${this.writeKey}:`).toString('base64')}`
    if (req.method !== 'POST' || req.url !== '/v1/batch') {
      res.writeHead(404).end()
      return
    }
    if (req.headers.authorization !== expectedAuth) {
      res.writeHead(401).end('{"error":"bad write key"}')
      return
    }
    switch (this.fault) {
      case '500': res.writeHead(500).end('{"error":"boom"}'); return
      case '400': res.writeHead(400).end('{"error":"bad request"}'); return
      case '429': res.writeHead(429, { 'retry-after': '3600' }).end('{"error":"slow down"}'); return
      case 'hang': return
      case 'reset': res.socket?.destroy(); return
      case 'trickle': this.trickle(res); return
    }
    this.rawBodies.push(body)
    const parsed = JSON.parse(body) as { batch: CollectedEvent[] }
    this.events.push(...parsed.batch)
    res.writeHead(200, { 'content-type': 'application/json' }).end('{"success":true}')
  }

  /** Headers, then one byte per second: never a whole answer within any sane timeout. */
  private trickle (res: ServerResponse): void {
    res.writeHead(200, { 'content-type': 'application/json', 'content-length': '16' })
    const bytes = Buffer.from('{"success":true}')
    let sent = 0
    const timer = setInterval(() => {
      if (sent === bytes.length || res.destroyed) {
        clearInterval(timer)
        return
      }
      res.write(bytes.subarray(sent, ++sent))
    }, 1000)
    timer.unref()
  }

  private notify (): void {
    for (const waiter of this.waiters) {
      if (waiter.predicate(this.events)) {
        this.waiters.delete(waiter)
        waiter.resolve()
      }
    }
  }
}
