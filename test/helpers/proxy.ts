import { once } from 'node:events'
import { createServer, type Server } from 'node:http'
import { connect, type AddressInfo, type Socket } from 'node:net'
import type { Test } from 'tap'

/**
 * A forward proxy on 127.0.0.1 that tunnels `CONNECT host:port` to loopback targets only. undici tunnels through
 * an HTTP proxy even for http:// targets, so an absolute-form request is answered 501 and would show up as a failure.
 * Started with `asksForCredentials`, it answers every `CONNECT` 407 instead, whatever it carries.
 */
export class ForwardProxy {
  /** `host:port` of every tunnel asked for, in order. */
  readonly tunnels: string[] = []
  private readonly sockets = new Set<Socket>()

  private constructor (private readonly server: Server, private readonly asksForCredentials: boolean) {}

  static async start ({ asksForCredentials = false } = {}): Promise<ForwardProxy> {
    const server = createServer((req, res) => res.writeHead(501).end())
    const proxy = new ForwardProxy(server, asksForCredentials)
    server.on('connect', (req, client: Socket, head: Buffer) => proxy.tunnel(req.url ?? '', client, head))
    server.on('connection', socket => proxy.track(socket))
    server.listen(0, '127.0.0.1')
    await once(server, 'listening')
    return proxy
  }

  get url (): string {
    return `http://127.0.0.1:${(this.server.address() as AddressInfo).port}`
  }

  async close (): Promise<void> {
    for (const socket of this.sockets) socket.destroy()
    this.server.close()
    await once(this.server, 'close')
  }

  private tunnel (target: string, client: Socket, head: Buffer): void {
    this.tunnels.push(target)
    if (this.asksForCredentials) {
      client.end('HTTP/1.1 407 Proxy Authentication Required\r\nProxy-Authenticate: Basic realm="proxy"\r\n\r\n')
      return
    }
    const { hostname, port } = new URL(`http://${target}`)
    if (hostname !== '127.0.0.1') {
      client.end('HTTP/1.1 403 Forbidden\r\n\r\n')
      return
    }
    const upstream = connect(Number(port), hostname, () => {
      client.write('HTTP/1.1 200 Connection Established\r\n\r\n')
      upstream.write(head)
      upstream.pipe(client)
      client.pipe(upstream)
    })
    this.track(upstream)
    upstream.on('error', () => client.destroy())
    client.on('error', () => upstream.destroy())
    client.on('close', () => upstream.destroy())
    upstream.on('close', () => client.destroy())
  }

  private track (socket: Socket): void {
    this.sockets.add(socket)
    socket.on('close', () => this.sockets.delete(socket))
  }
}

/** Every spelling of the proxy variables undici reads; the lowercase ones win when both are set. */
const PROXY_VARIABLES = ['HTTP_PROXY', 'HTTPS_PROXY', 'NO_PROXY', 'http_proxy', 'https_proxy', 'no_proxy'] as const

export type ProxyEnv = Partial<Record<typeof PROXY_VARIABLES[number], string>>

function apply (values: ProxyEnv): void {
  for (const name of PROXY_VARIABLES) {
    const value = values[name]
    if (value === undefined) delete process.env[name]
    else process.env[name] = value
  }
}

/**
 * Sets exactly `values` among the proxy variables until `t` ends, clearing the others: a developer's shell proxy
 * must not carry the tests' loopback traffic.
 */
export function useProxyEnv (t: Test, values: ProxyEnv = {}): void {
  const saved: ProxyEnv = Object.fromEntries(PROXY_VARIABLES.map(name => [name, process.env[name]]))
  t.teardown(() => apply(saved))
  apply(values)
}

/** A proxy that accepts connections and reads `CONNECT` requests, and never answers one. */
export class MuteProxy {
  /** `CONNECT` requests received, each left hanging. */
  connects = 0
  private readonly sockets = new Set<Socket>()
  private readonly waiters = new Set<() => void>()

  private constructor (private readonly server: Server) {}

  static async start (): Promise<MuteProxy> {
    const server = createServer((req, res) => res.writeHead(501).end())
    const proxy = new MuteProxy(server)
    server.on('connect', () => {
      proxy.connects++
      for (const resolve of proxy.waiters) resolve()
      proxy.waiters.clear()
    })
    server.on('connection', socket => {
      proxy.sockets.add(socket)
      socket.on('close', () => proxy.sockets.delete(socket))
    })
    server.listen(0, '127.0.0.1')
    await once(server, 'listening')
    return proxy
  }

  get url (): string {
    return `http://127.0.0.1:${(this.server.address() as AddressInfo).port}`
  }

  /** Resolves once `count` `CONNECT` requests arrived in all; event-driven, never polls. */
  async waitForConnects (count: number): Promise<void> {
    while (this.connects < count) await new Promise<void>(resolve => this.waiters.add(resolve))
  }

  async close (): Promise<void> {
    for (const socket of this.sockets) socket.destroy()
    this.server.close()
    await once(this.server, 'close')
  }
}
