import type {
  FastifyReply, FastifyRequest, HookHandlerDoneFunction, RouteOptions, onRequestHookHandler
} from 'fastify'
import { ROOT, createEndpointMatcher, cutTemplate, methodIndex } from './anonymizer'
import { MetricsCell, createMethodCells, type MethodCells } from './counters'

/** Where a route's counters hang on its Fastify route config; `null` marks a route that opted out. */
const kCells = Symbol('fastify-anonymous-telemetry.cells')
/** Request decoration: the cell the request was counted in, so the later hooks need no lookup at all. */
export const kCell = Symbol('fastify-anonymous-telemetry.cell')

interface TelemetryRouteConfig {
  telemetry?: boolean
  [kCells]?: MethodCells | null
}

/** A request as this plugin sees it; the slot is declared with `decorateRequest(kCell, null)`, so every request has it. */
type TrackedRequest = FastifyRequest & { [kCell]: MetricsCell | null }

/** Slot value of a request on an opted-out route: resolved, and counted nowhere. */
const IGNORED = new MetricsCell()

/** Counts one request in the cell of its method, made on the first request with that method. */
function countRequest (cells: MethodCells, method: string): MetricsCell {
  const index = methodIndex(method)
  const cell = cells[index] ?? (cells[index] = new MetricsCell())
  cell.requests++
  return cell
}

/**
 * The request path. A route the plugin sees registered gets a route-level `onRequest` hook that closes over its
 * endpoint's counters: a request then costs a switch on the method and a few additions, with no lookup and no
 * allocation. No string is built, no URL is read.
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

  /**
   * `onRoute`: resolve the route now, into a config object of its own (configs may be shared between routes), and
   * put a counting hook first among the route's own `onRequest` hooks.
   */
  readonly onRoute = (route: RouteOptions): void => {
    const config = (route.config ?? {}) as TelemetryRouteConfig
    const cells = config.telemetry === false ? null : this.cellsFor(route.url)
    const own: TelemetryRouteConfig = { ...config, [kCells]: cells }
    route.config = own
    if (cells === null) return
    const counter: onRequestHookHandler = function countRouteRequest (request, reply, done) {
      const tracked = request as TrackedRequest
      tracked[kCell] = countRequest(cells, request.method)
      done()
    }
    route.onRequest = [counter, ...[route.onRequest ?? []].flat()]
  }

  readonly onResponse = (request: FastifyRequest, reply: FastifyReply, done: HookHandlerDoneFunction): void => {
    const cell = (request as TrackedRequest)[kCell] ?? this.countLate(request)
    if (cell !== IGNORED) cell.countResponse(reply.statusCode, reply.elapsedTime, bodySize(reply))
    done()
  }

  readonly onRequestAbort = (request: FastifyRequest, done: HookHandlerDoneFunction): void => {
    const cell = (request as TrackedRequest)[kCell] ?? this.countLate(request)
    if (cell !== IGNORED) cell.aborted++
    done()
  }

  /**
   * A request that no route hook counted, at its end: a route registered before this plugin, a not-found handler,
   * a request an earlier hook answered, or an opted-out route. Resolves the route once, on its first such request.
   */
  private countLate (request: FastifyRequest): MetricsCell {
    // `routeOptions` is a getter that builds an object: read it once.
    const route = request.routeOptions
    const config = route.config as TelemetryRouteConfig
    let cells = config[kCells]
    if (cells === undefined) {
      cells = config.telemetry === false ? null : this.cellsFor(route.url)
      config[kCells] = cells
    }
    const tracked = request as TrackedRequest
    tracked[kCell] = cells === null ? IGNORED : countRequest(cells, request.method)
    return tracked[kCell]
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
