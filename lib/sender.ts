import type { Analytics as AnalyticsClient } from '@segment/analytics-node'
import { keepingGlobals } from './globals'
import { messageId, type Message, type Sender, type SenderContext } from './message'
import { EVENT_CONTEXT } from './report'
import { createUndiciTransport, type Transport } from './transport'

// The sending side. Loaded only by the reporter's dynamic import, the first time an event is actually sent: until
// then, nothing of the Segment SDK, tslib, jose or undici is in the process.
const { Analytics } = keepingGlobals(() => require('@segment/analytics-node') as typeof import('@segment/analytics-node'))

/** No single request may take longer than this, whatever `flushTimeout` says. */
const MAX_REQUEST_MS = 10_000

/** The Segment SDK over undici. */
export function createSender (ctx: SenderContext): Sender {
  return new SegmentSender(ctx)
}

class SegmentSender implements Sender {
  private transport!: Transport
  private analytics!: AnalyticsClient
  /** Messages handed to the SDK -> what to call when it reports them delivered or given up. */
  private readonly travelling = new Map<string, (error?: unknown) => void>()
  /** Whether a message failed since the client was opened. */
  private failed = false
  private closing = false

  constructor (private readonly ctx: SenderContext) {
    this.open()
  }

  send (message: Message, done: (error?: unknown) => void): void {
    const anonymousId = this.ctx.clusterId
    const id = messageId()
    this.travelling.set(id, done)
    try {
      if (message.type === 'identify') {
        this.analytics.identify({ messageId: id, anonymousId, traits: { ...message.traits }, context: { ...EVENT_CONTEXT } })
      } else {
        this.analytics.track({ messageId: id, anonymousId, event: message.event, properties: { ...message.properties }, context: { ...EVENT_CONTEXT } })
      }
      /* c8 ignore start: every message built here is valid; the SDK throws synchronously only on invalid input */
    } catch (error) {
      // Should that change, a bug must cost one event, not the host's request.
      queueMicrotask(() => this.settle(id, error))
    }
    /* c8 ignore stop */
  }

  async close (timeout: number): Promise<void> {
    this.closing = true
    // Never rejects: it resolves once everything is delivered or given up on, or at the timeout, where it aborts the rest.
    await this.analytics.closeAndFlush({ timeout })
    await this.transport.destroy()
  }

  private open (): void {
    const { options } = this.ctx
    const deadline = Math.min(options.flushTimeout, MAX_REQUEST_MS)
    this.transport = createUndiciTransport(deadline)
    const analytics = new Analytics({
      writeKey: options.writeKey,
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
      httpRequestTimeout: deadline,
      httpClient: this.transport
    })
    // The SDK's per-call callbacks fire no sooner than 300 ms after delivery; its events fire at once.
    analytics.on('identify', ctx => this.settle(ctx.event.messageId as string))
    analytics.on('track', ctx => this.settle(ctx.event.messageId as string))
    analytics.on('error', error => {
      // Only a bug inside the SDK yields an error without its message: then count everything travelling as lost,
      // or the queue would stall.
      /* c8 ignore next */
      const lost = error.ctx === undefined ? [...this.travelling.keys()] : [error.ctx.event.messageId as string]
      for (const id of lost) this.settle(id, error.reason)
    })
    this.analytics = analytics
    this.failed = false
  }

  /** Called once per message, from the SDK's `identify`/`track` (delivered) or `error` (given up) events. */
  private settle (id: string, error?: unknown): void {
    const done = this.travelling.get(id)
    // The SDK reports each message once; should it ever report one twice, the second report is ignored.
    /* c8 ignore next */
    if (done === undefined) return
    this.travelling.delete(id)
    if (error !== undefined) this.failed = true
    // Before `done`, which may hand the queue's next unit over at once.
    if (this.failed && this.travelling.size === 0 && !this.closing) this.renew()
    done(error)
  }

  /**
   * The SDK adds an `abort` listener to one long-lived AbortSignal for every retry or rate-limit pause and never
   * removes it: through a long outage they pile up without bound (and Node prints a MaxListenersExceededWarning
   * after ten). Outside close, once a failed unit is done nothing is travelling (one unit at a time), so a fresh
   * client costs nothing and lets the old one be collected, listeners and all.
   */
  private renew (): void {
    const stale = this.transport
    this.open()
    stale.destroy().catch(() => {})
  }
}
