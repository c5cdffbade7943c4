import { join } from 'node:path'
import fastifyAutoload from '@fastify/autoload'
import type { FastifyInstance } from 'fastify'
import fastifyTelemetry, { type TelemetryOptions } from '../../lib/index'
import type { RoutesOptions } from '../fixtures/autoload/routes/routes'

/** Declares an app's routes (and the plugins they need) on the context it is given. */
export type DeclareRoutes = (app: FastifyInstance) => void | Promise<void>

/**
 * One way an app puts telemetry and its routes together. Contexts copy request decorators when they are created, so
 * what differs between layouts is which contexts exist before the plugin is registered.
 */
export interface Layout {
  name: string
  /** Registers telemetry (none when `options` is `null`) and the routes `declare` declares, in this layout's order. */
  compose: (app: FastifyInstance, options: TelemetryOptions | null, declare: DeclareRoutes) => Promise<void>
}

type Step = Layout['compose']

const AUTOLOAD = join(__dirname, '..', 'fixtures', 'autoload')

const telemetry: Step = async (app, options) => {
  if (options !== null) await app.register(fastifyTelemetry, options)
}
const routes: Step = async (app, options, declare) => { await declare(app) }
const routesPlugin: Step = async (app, options, declare) => {
  await app.register(async function routes (plugin) { await declare(plugin) })
}
/** `plugins/telemetry.ts`: the telemetry file, as an app keeps it. */
const autoloadTelemetry: Step = async (app, options) => {
  if (options !== null) await app.register(fastifyAutoload, { dir: join(AUTOLOAD, 'plugins'), options })
}
/** `routes/routes.ts`: a route file, registered by autoload as an encapsulated plugin. */
const autoloadRoutes: Step = async (app, options, declare) => {
  await app.register(fastifyAutoload, { dir: join(AUTOLOAD, 'routes'), options: { declare } satisfies RoutesOptions })
}

function layout (name: string, first: Step, second: Step): Layout {
  return {
    name,
    async compose (app, options, declare) {
      await first(app, options, declare)
      await second(app, options, declare)
    }
  }
}

/** Every layout, each with its counterpart in the other order. */
export const LAYOUTS: readonly Layout[] = [
  layout('telemetry, then the routes', telemetry, routes),
  layout('the routes, then telemetry', routes, telemetry),
  layout('telemetry, then the routes in an encapsulated plugin', telemetry, routesPlugin),
  layout('the routes in an encapsulated plugin, then telemetry', routesPlugin, telemetry),
  layout('@fastify/autoload: the telemetry file, then a route file', autoloadTelemetry, autoloadRoutes),
  layout('@fastify/autoload: a route file, then the telemetry file', autoloadRoutes, autoloadTelemetry)
]
