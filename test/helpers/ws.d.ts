// The part of `ws` 8 the tests use; the package ships no types and `@types/ws` is not a dependency.
declare module 'ws' {
  import { EventEmitter } from 'node:events'
  import type { IncomingMessage } from 'node:http'
  import type { Duplex } from 'node:stream'

  export class WebSocket extends EventEmitter {
    constructor (url: string)
    send (data: string): void
    close (): void
    terminate (): void
  }

  export class WebSocketServer extends EventEmitter {
    constructor (options: { noServer: true })
    handleUpgrade (request: IncomingMessage, socket: Duplex, head: Buffer, callback: (socket: WebSocket) => void): void
    close (): void
  }

  export { WebSocketServer as Server }
}
