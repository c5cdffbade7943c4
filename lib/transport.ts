import { STATUS_CODES } from 'node:http'
import type { HTTPClient, HTTPClientRequest, HTTPResponse } from '@segment/analytics-node'
import type { FastifyBaseLogger } from 'fastify'
import { EnvHttpProxyAgent, buildConnector, request } from 'undici'

const CONNECT_TIMEOUT_MS = 10_000

/** An HTTP client for the Segment SDK that can also release its sockets. */
export interface Transport extends HTTPClient {
  destroy (): Promise<void>
}

/**
 * Sends the SDK's batches over undici: keep-alive sockets, unref'd so that they never keep the process alive, a
 * hard deadline per request (a collector that trickles bytes cannot hold a request open), bodies always consumed so
 * sockets are reused, and `HTTPS_PROXY`/`HTTP_PROXY`/`NO_PROXY` honoured (sockets to a proxy stay ref'd: undici
 * makes them itself).
 */
export function createUndiciTransport (): Transport {
  const connector = buildConnector({ timeout: CONNECT_TIMEOUT_MS })
  const dispatcher = new EnvHttpProxyAgent({
    keepAliveTimeout: 10_000,
    connections: 4,
    // An unref'd socket never keeps the host process alive, not even while a collector hangs.
    connect: (options, callback) => connector(options, (...result) => {
      result[1]?.unref()
      callback(...result)
    })
  })
  return {
    async makeRequest (options: HTTPClientRequest): Promise<HTTPResponse> {
      const timeout = options.httpRequestTimeout
      const response = await request(options.url, {
        dispatcher,
        method: options.method,
        headers: options.headers,
        body: options.body,
        headersTimeout: timeout,
        bodyTimeout: timeout,
        signal: AbortSignal.timeout(timeout)
      })
      await response.body.dump()
      return {
        status: response.statusCode,
        statusText: STATUS_CODES[response.statusCode] ?? '',
        headers: response.headers
      }
    },
    async destroy () {
      await dispatcher.destroy()
    }
  }
}

/**
 * Dry run: logs each event exactly as it would go on the wire, SDK-added fields included, with the write
 * key redacted, and answers like a collector that accepted it. Nothing leaves the process.
 */
export function createDryRunTransport (log: FastifyBaseLogger): Transport {
  return {
    async makeRequest (options: HTTPClientRequest): Promise<HTTPResponse> {
      const { batch, sentAt } = JSON.parse(options.body) as { batch: Array<{ type: string, event?: string }>, sentAt: string }
      for (const event of batch) {
        log.info({ telemetryEvent: event, telemetryBatch: { writeKey: '[redacted]', sentAt } },
          `fastify-anonymous-telemetry dry run, not sent: ${event.event ?? event.type}`)
      }
      return { status: 200, statusText: 'OK', headers: {} }
    },
    async destroy () {}
  }
}
