import type { FastifyInstance } from 'fastify'
import type { ResolvedHealth } from './options'
import type { TelemetrySnapshot } from './report'

/** A probe flood must not cost one report build per request. */
const SNAPSHOT_MAX_AGE_MS = 1000

export interface HealthResponse {
  status: 'ok'
  metrics?: TelemetrySnapshot
}

/**
 * `GET <url>`: `{ status: 'ok' }`, plus the current telemetry snapshot while telemetry is on and `metrics` is set.
 * The route itself is never counted: probes say nothing about how the product is used.
 * `now` (milliseconds) exists so that tests can age the cached snapshot without waiting.
 */
export function registerHealthRoute (
  fastify: FastifyInstance,
  health: ResolvedHealth,
  snapshot: (() => TelemetrySnapshot) | null,
  now: () => number = () => performance.now()
): void {
  const metrics = health.metrics ? snapshot : null
  let cached: TelemetrySnapshot | undefined
  let cachedAt = -Infinity
  fastify.get(health.url, {
    config: { telemetry: false },
    onRequest: health.onRequest,
    logLevel: health.logLevel,
    schema: health.schema
  }, async (): Promise<HealthResponse> => {
    if (metrics === null) return { status: 'ok' }
    const at = now()
    if (cached === undefined || at - cachedAt >= SNAPSHOT_MAX_AGE_MS) {
      cached = metrics()
      cachedAt = at
    }
    return { status: 'ok', metrics: cached }
  })
}
