import type { FastifyReply, FastifyRequest, HookHandlerDoneFunction, RouteOptions } from 'fastify'
import { ROOT, createEndpointMatcher, cutTemplate, methodIndex } from './anonymizer'
import { MetricsCell, createMethodCells, type MethodCells } from './counters'
import { UpgradeWatch } from './upgrades'

/** Request decoration: the cell the request was counted in, fixed at `onRequest`, so the later hooks need no lookup. */
export const kCell = Symbol('fastify-anonymous-telemetry.cell')

/**
 * A request as this plugin sees it. The slot of a request not counted yet is `null`, or `undefined` when its Request
 * class was built by a context registered before the plugin: each context copies `decorateRequest`'s defaults when
 * it is created, so `decorateRequest(kCell, null)` never reaches the contexts that exist already. Every read of the
 * slot treats both alike (`== null`, `??`).
 */
type TrackedRequest = FastifyRequest & { [kCell]?: MetricsCell | null }

/** Slot value of a request counted nowhere: on an opted-out route, or already ended (a request ends once). */
const DONE = new MetricsCell()

/** Size of a `101 Switching Protocols` answer: it has no body; what follows is no longer HTTP. */
const UPGRADE_SIZE = 0

/** Counts one request in the cell of its method, made on the first request with that method. */
function countRequest (cells: MethodCells, method: string): MetricsCell {
  const index = methodIndex(method)
  const cell = cells[index] ?? (cells[index] = new MetricsCell())
  cell.requests++
  return cell
}

/**
 * The request path, through global hooks only: routes stay exactly as the app declared them. `onRequest` reads
 * `request.routeOptions` once, finds the counters of the route's endpoint in a `WeakMap` keyed by the route
 * context's own config object (Fastify builds one per route context after `onRoute`, so each entry is made on the
 * route's first request), counts, and keeps the cell on the request; the hooks that end the request use that cell,
 * so `reply.callNotFound()`, which switches the request's config, cannot move it. No string, no URL, no lookup
 * keyed by client data.
 */
export class Recorder {
  /** Endpoint -> counters per method. Keys are allow-list entries (or, in discovery, cut templates): bounded by the app. */
  readonly endpoints = new Map<string, MethodCells>()
  private readonly matchEndpoint: ((cut: string) => string) | null
  /** A route context's config object -> its endpoint's counters, `null` for a route that opted out. */
  private readonly routes = new WeakMap<object, MethodCells | null>()
  private readonly upgrades = new UpgradeWatch(
    reply => this.countResponse(reply.request, 101, reply.elapsedTime, UPGRADE_SIZE),
    reply => this.countAborted(reply.request)
  )

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

  /** `onRoute`, in discovery only: lists the endpoint of each route before any traffic. Reads the route, never writes it. */
  readonly telemetryOnRoute = (route: RouteOptions): void => {
    if (route.config?.telemetry !== false) this.cellsFor(route.url)
  }

  readonly telemetryOnRequest = (request: FastifyRequest, reply: FastifyReply, done: HookHandlerDoneFunction): void => {
    const tracked = request as TrackedRequest
    // Set already: the request was aborted while an earlier hook was still running, and has ended.
    if (tracked[kCell] == null) {
      const cell = tracked[kCell] = this.count(request)
      // Node's parser sets `upgrade` (true only for a request it handed to an `'upgrade'` listener); `injectWS`, a
      // test helper that skips the parser, leaves it unset but sends the header. Real requests stop at `false`.
      const upgrade = (request.raw as { upgrade?: boolean }).upgrade
      if (upgrade !== false && cell !== DONE && (upgrade === true || request.headers.upgrade !== undefined)) {
        this.upgrades.watch(reply, upgrade === true)
      }
    }
    done()
  }

  readonly telemetryOnResponse = (request: FastifyRequest, reply: FastifyReply, done: HookHandlerDoneFunction): void => {
    this.countResponse(request, reply.statusCode, reply.elapsedTime, this.bodySize(reply))
    done()
  }

  readonly telemetryOnRequestAbort = (request: FastifyRequest, done: HookHandlerDoneFunction): void => {
    this.countAborted(request)
    done()
  }

  /** `onClose`: stops listening to the websocket servers. */
  readonly telemetryOnClose = (_instance: unknown, done: HookHandlerDoneFunction): void => {
    this.upgrades.stop()
    done()
  }

  private countResponse (request: FastifyRequest, statusCode: number, elapsedMs: number, size: number | undefined): void {
    const cell = this.end(request)
    if (cell !== DONE) cell.countResponse(statusCode, elapsedMs, size)
  }

  private countAborted (request: FastifyRequest): void {
    const cell = this.end(request)
    if (cell !== DONE) cell.aborted++
  }

  /**
   * The cell to count a request's end in, exactly once: `DONE` for a request that ended already or is counted
   * nowhere. A request that never reached this plugin's `onRequest` (an earlier hook answered
   * or failed, or the client left first) is counted here.
   */
  private end (request: FastifyRequest): MetricsCell {
    const tracked = request as TrackedRequest
    const cell = tracked[kCell] ?? this.count(request)
    tracked[kCell] = DONE
    return cell
  }

  private count (request: FastifyRequest): MetricsCell {
    // A getter that builds an object (and reads `accept-version` when the app has version constraints): read once.
    const route = request.routeOptions
    const config = route.config
    let cells = this.routes.get(config)
    if (cells === undefined) {
      cells = config.telemetry === false ? null : this.cellsFor(route.url)
      this.routes.set(config, cells)
    }
    return cells === null ? DONE : countRequest(cells, request.method)
  }

  /**
   * Declared body size in bytes; `undefined` (counted as unknown) for streams sent without a length. Headers given
   * straight to `reply.raw.writeHead()` (hijacked replies) are not kept by Node where `getHeader` can see them (they
   * are under `inject`, whose response keeps every header), so their length is read from the one Node noted for its
   * own length check: `inject` and a real socket agree.
   */
  private bodySize (reply: FastifyReply): number | undefined {
    const statusCode = reply.statusCode
    if (statusCode === 204 || statusCode === 304) return 0
    const length = reply.getHeader('content-length') ?? (reply.raw as { _contentLength?: number | null })._contentLength
    const bytes = typeof length === 'string' ? +length : length
    return typeof bytes === 'number' && bytes >= 0 ? bytes : undefined
  }
}
