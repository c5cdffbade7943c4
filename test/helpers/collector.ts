import { once } from 'node:events'
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http'
import type { AddressInfo, Socket } from 'node:net'
import { schemaViolations } from './schema'

/** How the collector misbehaves; `ok` accepts every valid batch. */
export type Fault = 'ok' | '500' | '429' | '400' | '403' | '413' | 'hang' | 'reset' | 'trickle' | '301' | '302' | '307'

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

function nameOf (event: CollectedEvent): string {
  return event.type === 'identify' ? 'identify' : String(event.event)
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
  /** Bodies of the batches the collector accepted. */
  readonly rawBodies: string[] = []
  /** Every request as it arrived, whatever the answer: request line, raw headers and body. */
  readonly wire: string[] = []
  readonly events: CollectedEvent[] = []
  /**
   * How accepted events broke the shipped JSON Schemas (schema/*.json). Every event is checked as it arrives and
   * `close()` throws when this is not empty, so every test that closes its collector also proves the schemas.
   */
  readonly schemaErrors: string[] = []
  /** Requests seen, including refused and failed ones. */
  requests = 0
  fault: Fault = 'ok'
  /** Where the 3xx faults point; by default the same address over https, as an http→https redirect does. */
  redirectTo: string | null = null
  private readonly waiters = new Set<Waiter>()
  private readonly sockets = new Set<Socket>()
  private readonly connectionWaiters = new Set<() => void>()

  private constructor (private readonly server: Server, readonly writeKey: string) {}

  /** `port` lets a test bring a collector back where a previous one stopped (a recovered outage). */
  static async start (writeKey = 'test-write-key', port = 0): Promise<Collector> {
    const server = createServer((req, res) => collector.handle(req, res))
    const collector = new Collector(server, writeKey)
    server.on('connection', socket => {
      collector.sockets.add(socket)
      socket.on('close', () => {
        collector.sockets.delete(socket)
        if (collector.sockets.size > 0) return
        for (const resolve of collector.connectionWaiters) resolve()
        collector.connectionWaiters.clear()
      })
    })
    server.listen(port, '127.0.0.1')
    await once(server, 'listening')
    return collector
  }

  get url (): string {
    const { port } = this.server.address() as AddressInfo
    return `http://127.0.0.1:${port}`
  }

  /** TCP connections open to the collector now. */
  get connections (): number {
    return this.sockets.size
  }

  /**
   * Asks clients to keep idle connections for 10 minutes (the `Keep-Alive: timeout` hint undici follows), so that a
   * connection that ends soon was ended by its client, not by an idle timeout.
   */
  keepIdleConnections (): void {
    this.server.keepAliveTimeout = 600_000
  }

  /** Resolves once no connection is open; event-driven, never polls. */
  async waitForNoConnections (): Promise<void> {
    if (this.sockets.size === 0) return
    await new Promise<void>(resolve => this.connectionWaiters.add(resolve))
  }

  /** Every byte of every accepted batch, as one string. */
  get allBytes (): string {
    return this.rawBodies.join('\n')
  }

  /** Every request line, header and body received, accepted or not, as one string. */
  get wireBytes (): string {
    return this.wire.join('\n')
  }

  /** The name of every event received, in order of arrival: `identify`, `telemetry`, `keep-alive`. */
  get names (): string[] {
    return this.events.map(nameOf)
  }

  named (name: string): CollectedEvent[] {
    return this.events.filter(event => nameOf(event) === name)
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
    if (this.schemaErrors.length > 0) {
      throw new Error(`collector: ${this.schemaErrors.length} schema violation(s) in received events:\n${this.schemaErrors.join('\n')}`)
    }
  }

  private handle (req: IncomingMessage, res: ServerResponse): void {
    const chunks: Buffer[] = []
    req.on('data', chunk => chunks.push(chunk))
    req.on('end', () => {
      this.requests++
      const body = Buffer.concat(chunks).toString('utf8')
      this.wire.push(`${req.method} ${req.url} HTTP/${req.httpVersion}\n${req.rawHeaders.join('\n')}\n\n${body}`)
      this.respond(req, res, body)
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
      case '403': res.writeHead(403).end('{"error":"write key disabled"}'); return
      case '413': res.writeHead(413).end('{"error":"batch too large"}'); return
      case '429': res.writeHead(429, { 'retry-after': '3600' }).end('{"error":"slow down"}'); return
      case 'hang': return
      case 'reset': this.reset(res); return
      case 'trickle': this.trickle(res); return
      case '301': case '302': case '307':
        res.writeHead(Number(this.fault), { location: this.redirectTo ?? `https://${String(req.headers.host)}${String(req.url)}` }).end()
        return
    }
    this.rawBodies.push(body)
    const parsed = JSON.parse(body) as { batch: CollectedEvent[] }
    this.events.push(...parsed.batch)
    for (const event of parsed.batch) this.schemaErrors.push(...schemaViolations(event))
    res.writeHead(200, { 'content-type': 'application/json' }).end('{"success":true}')
  }

  /** Part of the status line and headers, then a TCP reset: the answer breaks off before the client knows the outcome. */
  private reset (res: ServerResponse): void {
    const socket = res.socket as Socket
    socket.write('HTTP/1.1 200 OK\r\ncontent-type: appl', () => socket.resetAndDestroy())
  }

  /**
   * The whole answer, status line first, one byte every 100 ms: bytes keep arriving, yet no answer completes
   * within any sane timeout.
   */
  private trickle (res: ServerResponse): void {
    const socket = res.socket as Socket
    const bytes = Buffer.from('HTTP/1.1 200 OK\r\ncontent-type: application/json\r\ncontent-length: 16\r\n\r\n{"success":true}')
    let sent = 0
    const timer = setInterval(() => {
      if (sent === bytes.length || socket.destroyed) {
        clearInterval(timer)
        return
      }
      socket.write(bytes.subarray(sent, ++sent))
    }, 100)
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
