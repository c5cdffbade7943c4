import Fastify, { type FastifyInstance } from 'fastify'
import fastifyTelemetry, { type TelemetryOptions } from '../../lib/index'
import type { Collector } from './collector'

/** Intervals short enough for tests; nothing waits on them by the clock, only on what the collector receives. */
export const FAST = { identifyAfter: 20, reportInterval: 60, keepAliveInterval: 40, flushTimeout: 2000 } as const

export const ENDPOINTS = ['/clients', '/oauth2/token', '/oauth2/auth', '/files', '/health']

export function telemetryOptions (collector: Collector, extra: TelemetryOptions = {}): TelemetryOptions {
  return {
    writeKey: collector.writeKey,
    issuerUrl: 'https://auth.example.com/',
    host: collector.url,
    endpoints: ENDPOINTS,
    ...FAST,
    ...extra
  }
}

/** A small app with every kind of route the anonymizer must handle. */
export function addRoutes (app: FastifyInstance): void {
  app.get('/clients', async () => ({ clients: [] }))
  app.get('/clients/:id', async () => ({ id: 'x' }))
  app.route({ method: ['POST', 'PUT'], url: '/clients/:id/secret', handler: async () => ({ ok: true }) })
  app.post('/oauth2/token', async () => ({ access_token: 'redacted' }))
  app.get('/files/*', async () => 'file')
  app.get('/numbers/:n(^\\d+)', async () => ({ n: 1 }))
  app.get('/private', { config: { telemetry: false } }, async () => ({ private: true }))
}

/** Builds a Fastify app with telemetry registered first and the standard routes. */
export async function buildApp (options: TelemetryOptions, configure: (app: FastifyInstance) => void = addRoutes): Promise<FastifyInstance> {
  const app = Fastify()
  await app.register(fastifyTelemetry, options)
  configure(app)
  await app.ready()
  return app
}
