import type {
  FastifyReply, FastifyRequest, HookHandlerDoneFunction, RouteOptions
} from 'fastify'
import { ROOT, createEndpointMatcher, cutTemplate, methodIndex } from './anonymizer'
import { MetricsCell, createMethodCells, type MethodCells } from './counters'

/** Where a route's counters hang on its Fastify route config; `null` marks a route that opted out. */
const kCells = Symbol('fastify-telemetry.cells')
/** Request decoration: the cell `onRequest` counted into, so the later hooks need no lookup at all. */
export const kCell = Symbol('fastify-telemetry.cell')

interface TelemetryRouteConfig {
  telemetry?: boolean
  [kCells]?: MethodCells | null
}

/** A request as this plugin sees it; the slot is declared with `decorateRequest`, so every request has it. */
type TrackedRequest = FastifyRequest & { [kCell]: MetricsCell | null }

/**
 * The request path. Each route resolves once to the counters of its endpoint; after that a request costs a
 * property read, a switch on the method, and a few additions. No string is built, no URL is read.
 */
export class Recorder {
  /** Endpoint -> counters per method. Keys are allow-list entries (or, in discovery, cut templates): bounded by the app. */
  readonly endpoints = new Map<string, MethodCells>()
  private readonly matchEndpoint: ((cut: string) => string) | null

  /** `allowList` `null`: discovery (dry run without `endpoints`), every cut template becomes an endpoint. */
  constructor (allowList: readonly string[] | null) {
    this.matchEndpoint = allowList === null ? null : createEndpointMatcher(allowList)
    for (const endpoint of allowList ?? [ROOT]) this.endpoints.set(endpoint, createMethodCells())
  }

  cellsFor (template: string | undefined): MethodCells {
    const cut = template === undefined ? ROOT : cutTemplate(template)
    const endpoint = this.matchEndpoint === null ? cut : this.matchEndpoint(cut)
    let cells = this.endpoints.get(endpoint)
    if (cells === undefined) {
      cells = createMethodCells()
      this.endpoints.set(endpoint, cells)
    }
    return cells
  }

  /** `onRoute`: resolve the route now, into a config object of its own (configs may be shared between routes). */
  readonly onRoute = (route: RouteOptions): void => {
    const config = (route.config ?? {}) as TelemetryRouteConfig
    const own: TelemetryRouteConfig = { ...config, [kCells]: config.telemetry === false ? null : this.cellsFor(route.url) }
    route.config = own
  }

  readonly onRequest = (request: FastifyRequest, reply: FastifyReply, done: HookHandlerDoneFunction): void => {
    // `routeOptions` is a getter that builds an object: read it once.
    const route = request.routeOptions
    const config = route.config as TelemetryRouteConfig
    let cells = config[kCells]
    if (cells === undefined) {
      // A route registered before this plugin, or a not-found handler: resolve it once, on its first request.
      cells = config.telemetry === false ? null : this.cellsFor(route.url)
      config[kCells] = cells
    }
    if (cells !== null) {
      const index = methodIndex(request.method)
      const cell = cells[index] ?? (cells[index] = new MetricsCell())
      cell.requests++
      const tracked = request as TrackedRequest
      tracked[kCell] = cell
    }
    done()
  }

  readonly onResponse = (request: FastifyRequest, reply: FastifyReply, done: HookHandlerDoneFunction): void => {
    const cell = (request as TrackedRequest)[kCell]
    if (cell !== null) cell.countResponse(reply.statusCode, reply.elapsedTime, bodySize(reply))
    done()
  }

  readonly onRequestAbort = (request: FastifyRequest, done: HookHandlerDoneFunction): void => {
    const cell = (request as TrackedRequest)[kCell]
    if (cell !== null) cell.aborted++
    done()
  }
}

/** Declared body size in bytes; `undefined` (counted as unknown) for streams sent without a length. */
function bodySize (reply: FastifyReply): number | undefined {
  const statusCode = reply.statusCode
  if (statusCode === 204 || statusCode === 304) return 0
  const length = reply.getHeader('content-length')
  const bytes = typeof length === 'string' ? +length : length
  return typeof bytes === 'number' && bytes >= 0 ? bytes : undefined
}
