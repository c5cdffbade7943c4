import { performance } from 'node:perf_hooks'
import { Analytics } from '@segment/analytics-node'
import type { FastifyBaseLogger } from 'fastify'
import { summarize, type MethodCells } from './counters'
import { DeliveryQueue, type DeliveryUnit } from './delivery'
import { GcObserver, memoryRecord } from './memory'
import type { ResolvedOptions } from './options'
import {
  EVENT_CONTEXT, EVENTS, SCHEMA_VERSION, identifyTraits, splitReport,
  type IdentifyTraits, type KeepAliveProperties, type TelemetryProperties, type TelemetrySnapshot
} from './report'
import { createDryRunTransport, createUndiciTransport, type Transport } from './transport'

type Message =
  | { type: 'identify', traits: IdentifyTraits }
  | { type: 'track', event: string, properties: TelemetryProperties | KeepAliveProperties }

/** Counted retries per batch; a later report carries the same counters anyway. */
const MAX_RETRIES = 2
/** No single request may take longer than this, whatever `flushTimeout` says. */
const MAX_REQUEST_MS = 10_000

export interface ReporterContext {
  options: ResolvedOptions
  clusterId: string
  instanceId: string
  log: FastifyBaseLogger
  endpoints: ReadonlyMap<string, MethodCells>
}

/**
 * Owns everything that happens away from the request path: the three timers, building events, and the Segment
 * client. Nothing here runs per request; nothing here can throw into Fastify.
 */
export class Reporter {
  private readonly gc = new GcObserver()
  private readonly queue = new DeliveryQueue<Message>(
    (message, done) => this.send(message, done),
    unit => this.dropped(unit),
    (unit, error) => this.failed(unit, error)
  )

  private readyAt = 0
  /** An identify that was lost is sent again before the next report: its traits travel nowhere else. */
  private identifyState: 'unsent' | 'queued' | 'delivered' = 'unsent'
  private closed = false
  private timers: NodeJS.Timeout[] = []
  private analytics: Analytics | null = null
  private transport: Transport | null = null

  constructor (private readonly ctx: ReporterContext) {}

  get pending (): number {
    return this.queue.pending
  }

  /** `onReady`: the clock for `identifyAfter` and `uptime` starts here. */
  start (): void {
    this.readyAt = performance.now()
    this.gc.start()
    this.schedule(setTimeout(() => this.identify(), this.ctx.options.identifyAfter))
  }

  snapshot (): TelemetrySnapshot {
    return {
      instanceId: this.ctx.instanceId,
      schemaVersion: SCHEMA_VERSION,
      uptime: this.readyAt === 0 ? 0 : Math.floor((performance.now() - this.readyAt) / 1000),
      ...summarize(this.ctx.endpoints),
      memory: memoryRecord(this.gc)
    }
  }

  /** `onClose`: stop the timers, send a final report if anything was ever sent, and give up after `flushTimeout`. */
  async stop (): Promise<void> {
    if (this.closed) return
    this.closed = true
    for (const timer of this.timers) clearTimeout(timer)
    this.gc.stop()
    if (this.analytics === null) return
    try {
      this.queue.push(this.reportUnit())
      this.queue.drain()
      await this.analytics.closeAndFlush({ timeout: this.ctx.options.flushTimeout })
    } catch (error) {
      /* c8 ignore next 2 */
      this.ctx.log.debug({ err: error }, 'fastify-telemetry: final report failed')
    } finally {
      await this.transport?.destroy().catch(() => {})
    }
  }

  private schedule (timer: NodeJS.Timeout): void {
    timer.unref()
    this.timers.push(timer)
  }

  private identify (): void {
    const { options } = this.ctx
    this.analytics = this.createClient()
    this.queue.push(this.identifyUnit())
    this.queue.push(this.reportUnit())
    this.schedule(setInterval(() => this.report(), options.reportInterval))
    this.schedule(setInterval(() => this.keepAlive(), options.keepAliveInterval))
  }

  private report (): void {
    if (this.identifyState === 'unsent') this.queue.push(this.identifyUnit())
    this.queue.push(this.reportUnit())
  }

  private keepAlive (): void {
    const properties: KeepAliveProperties = { instanceId: this.ctx.instanceId, schemaVersion: SCHEMA_VERSION }
    this.queue.push({ kind: 'keep-alive', messages: [{ type: 'track', event: EVENTS.keepAlive, properties }] })
  }

  private identifyUnit (): DeliveryUnit<Message> {
    this.identifyState = 'queued'
    return { kind: 'identify', messages: [{ type: 'identify', traits: identifyTraits(this.ctx.instanceId, this.ctx.options.build) }] }
  }

  private reportUnit (): DeliveryUnit<Message> {
    const messages: Message[] = splitReport(this.snapshot())
      .map(properties => ({ type: 'track', event: EVENTS.report, properties }))
    return { kind: 'telemetry', messages }
  }

  private createClient (): Analytics {
    const { options, log } = this.ctx
    this.transport = options.dryRun ? createDryRunTransport(log) : createUndiciTransport()
    // A rate limit or an outage never holds a batch longer than one report interval: the next report supersedes it.
    const patienceSeconds = Math.max(1, Math.ceil(options.reportInterval / 1000))
    const analytics = new Analytics({
      writeKey: options.writeKey === '' ? 'dry-run' : options.writeKey,
      host: options.host,
      path: options.path,
      flushAt: 1,
      flushInterval: options.flushTimeout,
      maxRetries: MAX_RETRIES,
      maxRateLimitDuration: patienceSeconds,
      maxTotalBackoffDuration: patienceSeconds,
      httpRequestTimeout: Math.min(options.flushTimeout, MAX_REQUEST_MS),
      httpClient: this.transport
    })
    analytics.on('error', error => log.debug({ err: error }, 'fastify-telemetry: delivery failed'))
    return analytics
  }

  private send (message: Message, done: (error?: unknown) => void): void {
    const analytics = this.analytics as Analytics
    const anonymousId = this.ctx.clusterId
    const callback = (error?: unknown): void => {
      if (message.type === 'identify') this.identifyState = error === undefined ? 'delivered' : 'unsent'
      done(error)
    }
    try {
      if (message.type === 'identify') {
        analytics.identify({ anonymousId, traits: { ...message.traits }, context: { ...EVENT_CONTEXT } }, callback)
      } else {
        analytics.track({ anonymousId, event: message.event, properties: { ...message.properties }, context: { ...EVENT_CONTEXT } }, callback)
      }
    } catch (error) {
      // The SDK validates synchronously; a bug here must cost one event, not the host's request.
      /* c8 ignore next */
      queueMicrotask(() => done(error))
    }
  }

  private dropped (unit: DeliveryUnit<Message>): void {
    if (unit.kind === 'identify') this.identifyState = 'unsent'
    this.ctx.log.debug({ kind: unit.kind }, 'fastify-telemetry: delivery queue full, dropped the oldest waiting unit')
  }

  private failed (unit: DeliveryUnit<Message>, error: unknown): void {
    this.ctx.log.debug({ kind: unit.kind, err: error }, 'fastify-telemetry: event not delivered')
  }
}
