import { randomUUID } from 'node:crypto'
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
  /** Messages handed to the SDK -> what to call when it reports them delivered or given up. */
  private readonly travelling = new Map<string, (error?: unknown) => void>()
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
    this.closed = true
    for (const timer of this.timers) clearTimeout(timer)
    this.gc.stop()
    const analytics = this.analytics
    if (analytics === null) return
    this.queue.push(this.reportUnit())
    this.queue.drain()
    // Sockets are unref'd so that telemetry never keeps a process alive; while the final report is flushed, this
    // timer does, for at most flushTimeout, so that `await app.close()` at the end of a script still delivers it.
    const holdOpen = setTimeout(() => {}, this.ctx.options.flushTimeout)
    // Never rejects: it resolves once everything is delivered or given up on, or at the timeout, where it aborts the rest.
    await analytics.closeAndFlush({ timeout: this.ctx.options.flushTimeout })
    await (this.transport as Transport).destroy()
    clearTimeout(holdOpen)
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
    const analytics = new Analytics({
      writeKey: options.writeKey === '' ? 'dry-run' : options.writeKey,
      host: options.host,
      path: options.path,
      flushAt: 1,
      flushInterval: options.flushTimeout,
      // No retries and no waiting out a 429 inside the SDK: its pauses are timers that would keep the host process
      // alive, and they buy nothing, since the next report carries the same cumulative counters and a lost identify
      // is sent again. One failed attempt drops the batch; the next interval is the retry.
      maxRetries: 0,
      maxRateLimitDuration: 0,
      maxTotalBackoffDuration: 0,
      httpRequestTimeout: Math.min(options.flushTimeout, MAX_REQUEST_MS),
      httpClient: this.transport
    })
    // The SDK's per-call callbacks fire no sooner than 300 ms after delivery; its events fire at once.
    analytics.on('identify', ctx => this.settle(ctx.event.messageId as string))
    analytics.on('track', ctx => this.settle(ctx.event.messageId as string))
    analytics.on('error', error => {
      log.debug({ err: error.reason }, 'fastify-anonymous-telemetry: delivery failed')
      // Only a bug inside the SDK yields an error without its message: then count everything travelling as lost,
      // or the queue would stall.
      /* c8 ignore next */
      const lost = error.ctx === undefined ? [...this.travelling.keys()] : [error.ctx.event.messageId as string]
      for (const messageId of lost) this.settle(messageId, error.reason)
    })
    return analytics
  }

  private send (message: Message, done: (error?: unknown) => void): void {
    const analytics = this.analytics as Analytics
    const anonymousId = this.ctx.clusterId
    // Same form as the SDK's own ids; ours, so that the SDK's delivery events can be matched to the message.
    const messageId = `node-next-${Date.now()}-${randomUUID()}`
    this.travelling.set(messageId, error => {
      if (message.type === 'identify') this.identifyState = error === undefined ? 'delivered' : 'unsent'
      done(error)
    })
    try {
      if (message.type === 'identify') {
        analytics.identify({ messageId, anonymousId, traits: { ...message.traits }, context: { ...EVENT_CONTEXT } })
      } else {
        analytics.track({ messageId, anonymousId, event: message.event, properties: { ...message.properties }, context: { ...EVENT_CONTEXT } })
      }
      /* c8 ignore start: every message built here is valid; the SDK throws synchronously only on invalid input */
    } catch (error) {
      // Should that change, a bug must cost one event, not the host's request.
      queueMicrotask(() => this.settle(messageId, error))
    }
    /* c8 ignore stop */
  }

  /** Called once per message, from the SDK's `identify`/`track` (delivered) or `error` (given up) events. */
  private settle (messageId: string, error?: unknown): void {
    const done = this.travelling.get(messageId)
    if (done === undefined) return
    this.travelling.delete(messageId)
    done(error)
  }

  private dropped (unit: DeliveryUnit<Message>): void {
    this.ctx.log.debug({ kind: unit.kind }, 'fastify-anonymous-telemetry: delivery queue full, dropped a waiting event (a newer one carries its data)')
  }

  private failed (unit: DeliveryUnit<Message>, error: unknown): void {
    this.ctx.log.debug({ kind: unit.kind, err: error }, 'fastify-anonymous-telemetry: event not delivered')
    if (!this.closed) this.renewClient()
  }

  /**
   * The SDK adds an `abort` listener to one long-lived AbortSignal for every retry or rate-limit pause and never
   * removes it: through a long outage they pile up without bound (and Node prints a MaxListenersExceededWarning
   * after ten). Outside close, a failed unit means nothing is travelling (one unit at a time), so a fresh client
   * costs nothing and lets the old one be collected, listeners and all.
   */
  private renewClient (): void {
    const stale = this.transport
    this.analytics = this.createClient()
    stale?.destroy().catch(() => {})
  }
}
