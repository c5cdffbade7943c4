import type { FastifyInstance } from 'fastify'
import type { Test } from 'tap'
import type { TelemetryOptions } from '../../lib/index'
import { buildApp, telemetryOptions } from './app'
import { Collector } from './collector'

export interface Live {
  collector: Collector
  app: FastifyInstance
}

/**
 * A collector, and an app reporting to it with `FAST` intervals (overridable through `extra`). Both are closed
 * when `t` ends, the app first so that its final report still finds the collector; closing the app earlier in a
 * test is fine.
 */
export async function liveApp (t: Test, extra: TelemetryOptions = {}, configure?: (app: FastifyInstance) => void): Promise<Live> {
  const collector = await Collector.start()
  const app = await buildApp(telemetryOptions(collector, extra), configure)
  closeInOrder(t, { collector, app })
  return { collector, app }
}

/** When `t` ends, closes the app, then the collector: the app's final report must still find the collector. */
export function closeInOrder (t: Test, { collector, app }: Live): void {
  t.teardown(async () => {
    await app.close()
    await collector.close()
  })
}
