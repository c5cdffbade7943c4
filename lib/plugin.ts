import { randomUUID } from 'node:crypto'
import type { FastifyInstance } from 'fastify'
import type { WireBatch } from './dry-run'
import { FST_TELEMETRY_ALREADY_REGISTERED } from './errors'
import { Features, type FeatureCounter } from './features'
import { registerHealthRoute } from './health'
import { announce, operatorLog } from './notice'
import { resolveOptions, type TelemetryOptions } from './options'
import { Recorder, kCell } from './recorder'
import { clusterIdOf, type TelemetrySnapshot } from './report'
import { Reporter } from './reporter'

/** `fastify.telemetry`: what the plugin is doing, for operators and for an app's own health route. */
export interface TelemetryDecorator {
  /** Whether telemetry is on (`false` when an option or environment switch turned it off). */
  readonly enabled: boolean
  /** Whether events are logged instead of sent. */
  readonly dryRun: boolean
  /** Segment `anonymousId` of every event: quote it to ask for deletion. `null` while off. */
  readonly clusterId: string | null
  /** Random id of this process, new on every start. `null` while off. */
  readonly instanceId: string | null
  /** Every path that can ever appear in a report's `paths`. */
  readonly endpoints: readonly string[]
  /** Events waiting for delivery (bounded). */
  readonly pending: number
  /** The `telemetry` event properties that would be sent now (before splitting), or `null` while off. */
  snapshot (): TelemetrySnapshot | null
  /**
   * Sets this instance's value of a fact declared in the `features` option; a value not on its list is reported as
   * `other`. Throws `FST_TELEMETRY_UNKNOWN_FEATURE` for an undeclared name, on or off; does nothing else while off.
   */
  fact (name: string, value: string): void
  /**
   * The counter of a feature declared in the `features` option: get it once, then `inc()` it wherever the feature is
   * used. Throws `FST_TELEMETRY_UNKNOWN_FEATURE` for an undeclared name, on or off; its `inc()` does nothing while off.
   */
  counter (name: string): FeatureCounter
  /**
   * The exact request bodies a report sent now would post, one per part of the report, as dry run builds them
   * (`batch`, `writeKey` redacted, `sentAt`), for an app's own admin route. An empty array while off: nothing would
   * be sent. Loads nothing: neither the Segment SDK nor undici.
   */
  preview (): WireBatch[]
}

declare module 'fastify' {
  interface FastifyInstance {
    telemetry: TelemetryDecorator
  }
  interface FastifyContextConfig {
    /** `false`: this route is counted nowhere, not even under `/`. */
    telemetry?: boolean
  }
}

/** `fastify.telemetry` while off: only the feature calls differ between registrations, by the names declared. */
function offDecorator (features: Features): TelemetryDecorator {
  return Object.freeze({
    enabled: false,
    dryRun: false,
    clusterId: null,
    instanceId: null,
    endpoints: Object.freeze([]),
    pending: 0,
    snapshot: () => null,
    fact: (name: string, value: string) => features.fact(name, value),
    counter: (name: string) => features.counter(name),
    preview: () => []
  })
}

/**
 * Servers the plugin is registered on. A second registration, in the same context or any other, would count every
 * request twice (or only part of the app) under one cluster id.
 */
const registeredOn = new WeakSet<object>()

export async function telemetry (fastify: FastifyInstance, opts: TelemetryOptions): Promise<void> {
  // `telemetry` decorated: another copy of this package is registered here or in a parent context.
  if (registeredOn.has(fastify.server) || fastify.hasDecorator('telemetry')) throw new FST_TELEMETRY_ALREADY_REGISTERED()
  const options = resolveOptions(opts)
  registeredOn.add(fastify.server)
  // Fastify applies a register call's logLevel and logSerializers only to encapsulated plugins; this one is not.
  const log = Object.keys(options.log).length === 0 ? fastify.log : fastify.log.child({}, options.log)

  if (!options.enabled) {
    // Off means off: no hooks, no timers, no client, no socket.
    log.info(`fastify-anonymous-telemetry: telemetry is off (${options.disabledBy}); nothing is collected or sent`)
    fastify.decorate('telemetry', offDecorator(new Features(options.features, false)))
    if (options.health !== null) registerHealthRoute(fastify, options.health, null)
    return
  }

  const clusterId = clusterIdOf(options.issuerUrl, options.hashKey)
  const instanceId = randomUUID()
  const recorder = new Recorder(options.endpoints)
  const features = new Features(options.features, true)
  const reporter = new Reporter({ options, clusterId, instanceId, log, endpoints: recorder.endpoints, features })
  const listEndpoints = (): string[] => options.endpoints ?? [...recorder.endpoints.keys()].sort()

  // Not needed for correctness (a context registered earlier never gets this default, and the recorder reads
  // `undefined` as `null`), but every Request class built from here on creates the slot in its constructor, so
  // `onRequest` writes an existing property instead of changing the object's shape on the hot path.
  fastify.decorateRequest(kCell, null)
  if (options.endpoints === null) fastify.addHook('onRoute', recorder.telemetryOnRoute)
  fastify.addHook('onRequest', recorder.telemetryOnRequest)
  fastify.addHook('onResponse', recorder.telemetryOnResponse)
  fastify.addHook('onRequestAbort', recorder.telemetryOnRequestAbort)
  fastify.addHook('onClose', recorder.telemetryOnClose)

  fastify.addHook('onReady', function startTelemetry (done) {
    const operator = operatorLog(log)
    announce(operator, options, clusterId)
    if (options.dryRun && options.endpoints === null) {
      const endpoints = listEndpoints()
      const message = 'fastify-anonymous-telemetry: no endpoints option; this app would report these paths (pin them with the endpoints option)'
      operator.notice({ endpoints }, message, `${message}: ${JSON.stringify(endpoints)}`)
    }
    reporter.start()
    done()
  })
  fastify.addHook('onClose', async function stopTelemetry () {
    await reporter.stop()
  })

  fastify.decorate('telemetry', {
    enabled: true,
    dryRun: options.dryRun,
    clusterId,
    instanceId,
    get endpoints () { return listEndpoints() },
    get pending () { return reporter.pending },
    snapshot: () => reporter.snapshot(),
    fact: (name: string, value: string) => features.fact(name, value),
    counter: (name: string) => features.counter(name),
    preview: () => reporter.preview()
  } satisfies TelemetryDecorator)

  if (options.health !== null) registerHealthRoute(fastify, options.health, () => reporter.snapshot())
}
