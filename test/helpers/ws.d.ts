// The part of `ws` 8 the tests use, shaped like `@types/ws` (which is not a dependency): the module is the
// client class, with the server class beside it.
declare module 'ws' {
  import { EventEmitter } from 'node:events'
  import type { IncomingMessage } from 'node:http'
  import type { Duplex } from 'node:stream'

  class WebSocket extends EventEmitter {
    constructor (url: string)
    send (data: string): void
    close (): void
    terminate (): void
  }

  namespace WebSocket {
    class WebSocketServer extends EventEmitter {
      constructor (options: { noServer: true })
      handleUpgrade (request: IncomingMessage, socket: Duplex, head: Buffer, callback: (socket: WebSocket) => void): void
      close (): void
    }
    export { WebSocket, WebSocketServer, WebSocketServer as Server }
  }

  export = WebSocket
}
