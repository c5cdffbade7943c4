import type { EventEmitter } from 'node:events'
import type { IncomingMessage } from 'node:http'
import type { FastifyReply } from 'fastify'

/**
 * How an HTTP upgrade ends. An upgrade that `@fastify/websocket` accepts never reaches `onResponse` or
 * `onRequestAbort` (the reply is hijacked and the socket handed to `ws`), so its end is observed here: the
 * `'connection'` event of `websocketServer` (the decorator of `@fastify/websocket`) hands over the raw request of a
 * completed upgrade; the socket's `'close'` ends every other one (refused upgrades have already ended in
 * `onResponse` by then, and ending twice is a no-op). Only requests Node parsed as upgrades get a `'close'` listener:
 * each has a socket of its own, so the one listener per upgrade cannot pile up on a keep-alive socket.
 */
export class UpgradeWatch {
  /** Raw request of an upgrade in progress -> its reply. Keyed by the request object, never by client data. */
  private readonly pending = new WeakMap<IncomingMessage, FastifyReply>()
  /** Every `websocketServer` listened to, so that `stop()` can leave them as found. */
  private readonly servers = new Set<EventEmitter>()

  constructor (
    private readonly upgraded: (reply: FastifyReply) => void,
    private readonly closed: (reply: FastifyReply) => void
  ) {}

  /** `ownSocket`: the request came through Node's parser, and its socket serves this upgrade alone. */
  watch (reply: FastifyReply, ownSocket: boolean): void {
    const server = (reply.server as { websocketServer?: EventEmitter }).websocketServer
    if (server !== undefined && !this.servers.has(server)) {
      this.servers.add(server)
      server.on('connection', this.onConnection)
    }
    const raw = reply.request.raw
    this.pending.set(raw, reply)
    if (ownSocket) raw.socket.once('close', () => this.closed(reply))
  }

  stop (): void {
    for (const server of this.servers) server.removeListener('connection', this.onConnection)
    this.servers.clear()
  }

  private readonly onConnection = (_socket: unknown, raw: IncomingMessage): void => {
    const reply = this.pending.get(raw)
    if (reply !== undefined) this.upgraded(reply)
  }
}
