import type { FastifyInstance } from 'fastify'
import type { Test } from 'tap'
import type { TelemetryOptions, TelemetrySnapshot } from '../../lib/index'
import { MAX_TIMER_MS } from '../../lib/options'
import { ENDPOINTS, buildApp } from './app'

/**
 * Telemetry on, but nothing ever leaves the process: identify (and with it the first socket) would only come
 * after ~25 days of uptime. For tests that read `fastify.telemetry.snapshot()`.
 */
export function quietOptions (endpoints: readonly string[], extra: TelemetryOptions = {}): TelemetryOptions {
  return {
    writeKey: 'never-used',
    issuerUrl: 'https://auth.example.com/',
    host: 'http://127.0.0.1:9',
    endpoints,
    identifyAfter: MAX_TIMER_MS,
    ...extra
  }
}

/** A ready app with quiet telemetry and the routes `configure` declares, closed when `t` ends. */
export async function quietApp (t: Test, configure: (app: FastifyInstance) => void, endpoints = ENDPOINTS): Promise<FastifyInstance> {
  const app = await buildApp(quietOptions(endpoints), configure)
  t.teardown(() => app.close())
  return app
}

export function snapshotOf (app: FastifyInstance): TelemetrySnapshot {
  const snapshot = app.telemetry.snapshot()
  if (snapshot === null) throw new Error('telemetry is off')
  return snapshot
}

/** `{ endpoint: { METHOD: requests } }` for every endpoint with traffic: what the anonymizer made of the requests. */
export function requestsByPath (app: FastifyInstance): Record<string, Record<string, number>> {
  const counts: Record<string, Record<string, number>> = {}
  for (const [endpoint, path] of Object.entries(snapshotOf(app).paths)) {
    counts[endpoint] = Object.fromEntries(Object.entries(path.methods).map(([method, record]) => [method, record.requests]))
  }
  return counts
}
