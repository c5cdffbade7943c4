import { performance } from 'node:perf_hooks'
import type { FastifyBaseLogger } from 'fastify'
import { summarize, type MethodCells } from './counters'
import { DeliveryQueue, type DeliveryUnit } from './delivery'
import { createDryRunSender, wireBatch, type WireBatch } from './dry-run'
import type { Features } from './features'
import { FailureKinds, describeFailure } from './failures'
import { GcObserver, memoryRecord } from './memory'
import type { Message, Sender, SenderContext } from './message'
import { operatorLog, type OperatorLog } from './notice'
import type { ResolvedOptions } from './options'
import {
  EVENTS, SCHEMA_VERSION, identifyTraits, splitReport,
  type KeepAliveProperties, type TelemetrySnapshot
} from './report'

export interface ReporterContext {
  options: ResolvedOptions
  clusterId: string
  instanceId: string
  log: FastifyBaseLogger
  endpoints: ReadonlyMap<string, MethodCells>
  features: Features
}

/** Failure kinds already told at `warn` in this process (every app in it): later ones of a kind go to `debug`. */
const toldFailures = new FailureKinds()

/**
 * Owns everything that happens away from the request path: the three timers, building events, the delivery queue,
 * and loading the sending side when the first event is due. Nothing here runs per request; nothing here can throw
 * into Fastify.
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
  private timers: NodeJS.Timeout[] = []
  /** Set once the first event is due; resolves once the sending side is loaded. */
  private opening: Promise<Sender> | null = null
  private sender: Sender | null = null
  private readonly operator: OperatorLog

  constructor (private readonly ctx: ReporterContext) {
    this.operator = operatorLog(ctx.log)
  }

  get pending (): number {
    return this.queue.pending
  }

  /**
   * `onReady`: the clock for `identifyAfter` and `uptime` starts here. In dry run nothing leaves, so there is
   * nothing to wait for: the identify and a first report are logged at once.
   */
  start (): void {
    this.readyAt = performance.now()
    this.gc.start()
    if (this.ctx.options.dryRun) this.identify()
    else this.schedule(setTimeout(() => this.identify(), this.ctx.options.identifyAfter))
  }

  /** The request bodies a report sent now would post, one per part, in the dry-run wire form. */
  preview (): WireBatch[] {
    return this.reportUnit().messages.map(message => wireBatch(message, this.ctx.clusterId))
  }

  snapshot (): TelemetrySnapshot {
    return {
      instanceId: this.ctx.instanceId,
      schemaVersion: SCHEMA_VERSION,
      uptime: this.readyAt === 0 ? 0 : Math.floor((performance.now() - this.readyAt) / 1000),
      ...summarize(this.ctx.endpoints),
      memory: memoryRecord(this.gc),
      ...this.ctx.features.records()
    }
  }

  /** `onClose`: stop the timers, send a final report if anything was ever sent, and give up after `flushTimeout`. */
  async stop (): Promise<void> {
    this.stopTimers()
    this.gc.stop()
    // An instance that closes before its first event was due has loaded nothing and sends nothing.
    if (this.opening === null) return
    const sender = await this.opening
    // Closed while the sending side loaded: its intervals were set just now, and have had no chance to fire.
    this.stopTimers()
    this.queue.push(this.reportUnit())
    this.queue.drain()
    // Sockets are unref'd so that telemetry never keeps a process alive; while the final report is flushed, this
    // timer does, for at most flushTimeout, so that `await app.close()` at the end of a script still delivers it.
    const holdOpen = setTimeout(() => {}, this.ctx.options.flushTimeout)
    await sender.close(this.ctx.options.flushTimeout)
    clearTimeout(holdOpen)
  }

  private stopTimers (): void {
    for (const timer of this.timers) clearTimeout(timer)
    this.timers = []
  }

  private schedule (timer: NodeJS.Timeout): void {
    timer.unref()
    this.timers.push(timer)
  }

  /** `identifyAfter` has passed: load the sending side, then send the identify and the first report. */
  private identify (): void {
    this.opening = this.openSender().then(sender => {
      this.sender = sender
      this.queue.push(this.identifyUnit())
      this.queue.push(this.reportUnit())
      const { options } = this.ctx
      this.schedule(setInterval(() => this.report(), options.reportInterval))
      this.schedule(setInterval(() => this.keepAlive(), options.keepAliveInterval))
      return sender
    })
  }

  /**
   * The seam: the Segment SDK and undici are loaded here, with a dynamic import, when the first event is due. Dry
   * run needs neither. Loading cannot fail in an intact install; should it, every event fails (logged at debug)
   * instead of anything throwing into the host.
   */
  private async openSender (): Promise<Sender> {
    const context: SenderContext = { options: this.ctx.options, clusterId: this.ctx.clusterId, log: this.ctx.log }
    if (this.ctx.options.dryRun) return createDryRunSender(context)
    try {
      const { default: sending } = await import('./sender.js')
      return sending.createSender(context)
      /* c8 ignore start */
    } catch (error) {
      return { send: (message, done) => queueMicrotask(() => done(error)), close: async () => {} }
    }
    /* c8 ignore stop */
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

  private send (message: Message, done: (error?: unknown) => void): void {
    const sender = this.sender as Sender
    if (message.type !== 'identify') {
      sender.send(message, done)
      return
    }
    sender.send(message, error => {
      this.identifyState = error === undefined ? 'delivered' : 'unsent'
      done(error)
    })
  }

  private dropped (unit: DeliveryUnit<Message>): void {
    this.ctx.log.debug({ kind: unit.kind }, 'fastify-anonymous-telemetry: delivery queue full, dropped a waiting event (a newer one carries its data)')
  }

  /**
   * The first failure of each kind in the process is told where the operator sees it, with a hint; later ones of
   * that kind go to `debug`. Neither says anything of the write key or of what was sent.
   */
  private failed (unit: DeliveryUnit<Message>, error: unknown): void {
    const { options } = this.ctx
    const failure = describeFailure(error, options.host, options.path)
    const fields = { kind: unit.kind, failure: failure.kind, status: failure.status, code: failure.code }
    const message = `fastify-anonymous-telemetry: event not delivered (${failure.what})`
    if (toldFailures.first(failure.kind)) {
      this.operator.warn(fields, `${message}: ${failure.hint}. Later failures of this kind are logged at debug`)
    } else {
      this.ctx.log.debug({ ...fields, err: error }, message)
    }
  }
}
