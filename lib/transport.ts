import { STATUS_CODES } from 'node:http'
import { Socket } from 'node:net'
import type { HTTPClient, HTTPClientRequest, HTTPResponse } from '@segment/analytics-node'
import type { Dispatcher, buildConnector as BuildConnector } from 'undici'
// undici's parts, never its index.js (see undici-parts.d.ts): nothing here touches the process-wide dispatcher.
import EnvHttpProxyAgent = require('undici/lib/dispatcher/env-http-proxy-agent.js')
import Pool = require('undici/lib/dispatcher/pool.js')
import buildConnector = require('undici/lib/core/connect.js')
import request = require('undici/lib/api/api-request.js')
import connect = require('undici/lib/api/api-connect.js')

/** An HTTP client for the Segment SDK that can also release its sockets. */
export interface Transport extends HTTPClient {
  destroy (): Promise<void>
}

/**
 * The collector answered, but not with 2xx. The SDK would count a 3xx as delivered; here every non-2xx is a
 * failed delivery. Redirects are not followed: the write key goes to `host` and nowhere else.
 */
export class CollectorAnswer extends Error {
  constructor (readonly status: number) {
    super(`collector answered ${status}${STATUS_CODES[status] === undefined ? '' : ` ${STATUS_CODES[status]}`}` +
      (status >= 300 && status < 400 ? ' (redirects are not followed)' : ''))
  }
}

/** No request outlives this, however the collector or a proxy behaves. */
export class DeadlineExceeded extends Error {
  /** What the counting side's failure hints read (lib/failures.ts), which cannot import this class. */
  readonly code = 'TELEMETRY_DEADLINE'

  constructor (readonly ms: number) {
    super(`no complete answer within ${ms} ms`)
  }
}

type Connector = BuildConnector.connector

/** Telemetry's sockets never hold the process: unref'd as soon as they exist, and undici may not ref them again. */
function neverRef (connector: Connector): Connector {
  const release = (socket: Socket): void => {
    socket.unref()
    socket.ref = () => socket
  }
  return (options, callback) => {
    // A plain TCP connector hands its socket back at once, before the connection is up; the one that tunnels
    // through a proxy hands its socket (possibly TLS over the tunnel) only to the callback.
    const socket = connector(options, (error, connected) => {
      if (connected != null) release(connected as Socket)
      ;(callback as (error: Error | null, socket: unknown) => void)(error, connected)
    }) as unknown
    if (socket instanceof Socket) release(socket)
  }
}

/**
 * The dispatcher behind one transport: `HTTPS_PROXY`/`HTTP_PROXY`/`NO_PROXY` honoured, and every pool, the proxy's
 * own included (undici would give it 300 s defaults), on never-ref'd sockets with `deadline` as connect, headers
 * and body timeout.
 */
function createDispatcher (deadline: number): Dispatcher {
  const timeouts = { headersTimeout: deadline, bodyTimeout: deadline }
  const direct = buildConnector({ timeout: deadline })
  return new EnvHttpProxyAgent({
    keepAliveTimeout: 10_000,
    connections: 4,
    ...timeouts,
    // Pools to the collector: directly, or through the tunnel the proxy agent opens (its `connect`).
    factory: (origin, options) => new Pool(origin, { ...options, connect: neverRef((options as { connect?: Connector }).connect ?? direct) }),
    // The pool to the proxy itself. ProxyAgent asks it for tunnels with `.connect()`, which undici's index.js would
    // have put on every dispatcher's prototype: this one gets it on itself.
    proxyTls: { timeout: deadline },
    clientFactory: (origin, options) => Object.assign(
      new Pool(origin, { ...timeouts, connections: 4, connect: neverRef((options as { connect: Connector }).connect) }),
      { connect }
    )
  })
}

/** One batch, one answer: the body always consumed, so that the socket is reused; anything but 2xx a failure. */
async function exchange (dispatcher: Dispatcher, options: HTTPClientRequest, signal: AbortSignal): Promise<HTTPResponse> {
  const url = new URL(options.url)
  const response = await request.call(dispatcher, {
    origin: url.origin,
    path: `${url.pathname}${url.search}`,
    method: options.method as Dispatcher.HttpMethod,
    headers: options.headers,
    body: options.body,
    signal
  })
  await response.body.dump()
  const status = response.statusCode
  if (status < 200 || status > 299) throw new CollectorAnswer(status)
  return { status, statusText: STATUS_CODES[status] ?? '', headers: response.headers as Record<string, string> }
}

/** undici's dispatchers say whether they were destroyed; its types do not. */
function usable (dispatcher: Dispatcher | null): dispatcher is Dispatcher {
  return dispatcher !== null && !(dispatcher as unknown as { destroyed: boolean }).destroyed
}

/**
 * Sends the SDK's batches over undici: keep-alive sockets that never keep the process alive, one deadline per
 * request (a collector that trickles bytes, or a proxy that never answers CONNECT, cannot hold a request open),
 * bodies always consumed so sockets are reused, and every non-2xx answer turned into a failure the SDK and the
 * delivery queue see.
 */
export function createUndiciTransport (deadline: number): Transport {
  let dispatcher: Dispatcher | null = null
  return {
    async makeRequest (options: HTTPClientRequest): Promise<HTTPResponse> {
      const target = usable(dispatcher) ? dispatcher : (dispatcher = createDispatcher(deadline))
      const controller = new AbortController()
      const timer = setTimeout(() => {
        const error = new DeadlineExceeded(deadline)
        controller.abort(error)
        // undici's proxy client ignores the request's signal while it waits for CONNECT: only destroying the
        // dispatcher ends that wait. The next request gets a fresh one.
        target.destroy(error).catch(() => {})
      }, deadline)
      timer.unref()
      return await exchange(target, options, controller.signal).then(
        response => {
          clearTimeout(timer)
          return response
        },
        error => {
          clearTimeout(timer)
          // Past the deadline, whatever undici says (destroyed client, aborted request), the deadline is the reason.
          controller.signal.throwIfAborted()
          throw error
        })
    },
    async destroy () {
      const current = dispatcher
      dispatcher = null
      await current?.destroy()
    }
  }
}
