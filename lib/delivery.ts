/** One whole thing to deliver: an identify, a keep-alive, or every part of one report. */
export interface DeliveryUnit<M> {
  kind: 'identify' | 'telemetry' | 'keep-alive'
  messages: M[]
}

/** Hands one message to the SDK; `done` is called once, when it was delivered or given up on. */
export type SendMessage<M> = (message: M, done: (error?: unknown) => void) => void

/** At most this many whole units wait or travel at once; reports are cumulative, so dropping an old one loses nothing. */
export const MAX_PENDING_REPORTS = 3

/**
 * A bounded queue in front of the Segment SDK. One unit travels at a time; while it does, at most
 * `MAX_PENDING_REPORTS - 1` units wait. A newer report or keep-alive replaces a waiting one of its kind, and on
 * overflow the oldest waiting unit is dropped whole (an identify last, since its traits are never repeated
 * otherwise). A dead collector therefore costs a few reports of memory, never more.
 */
export class DeliveryQueue<M> {
  private readonly waiting: Array<DeliveryUnit<M>> = []
  private travelling = 0
  private draining = false

  constructor (
    private readonly send: SendMessage<M>,
    private readonly onDropped: (unit: DeliveryUnit<M>) => void,
    private readonly onFailed: (unit: DeliveryUnit<M>, error: unknown) => void
  ) {}

  /** Messages waiting or travelling. */
  get pending (): number {
    let count = this.travelling
    for (const unit of this.waiting) count += unit.messages.length
    return count
  }

  push (unit: DeliveryUnit<M>): void {
    if (this.travelling === 0 && !this.draining) {
      this.dispatch(unit)
      return
    }
    // Reports are cumulative and keep-alives carry nothing new: a newer unit replaces a waiting one of its kind, in
    // its place in line, so that one kind arriving fast cannot crowd out the others.
    const same = unit.kind === 'identify' ? -1 : this.waiting.findIndex(waiting => waiting.kind === unit.kind)
    if (same !== -1) {
      this.onDropped(this.waiting.splice(same, 1, unit)[0])
      return
    }
    this.waiting.push(unit)
    if (this.waiting.length > MAX_PENDING_REPORTS - 1) {
      const index = this.waiting.findIndex(waiting => waiting.kind !== 'identify')
      this.onDropped(this.waiting.splice(index === -1 ? 0 : index, 1)[0])
    }
  }

  /** On close: hand every waiting unit to the SDK at once, so that its bounded flush covers them all. */
  drain (): void {
    this.draining = true
    for (const unit of this.waiting.splice(0)) this.dispatch(unit)
  }

  private dispatch (unit: DeliveryUnit<M>): void {
    this.travelling += unit.messages.length
    let failure: unknown
    let left = unit.messages.length
    for (const message of unit.messages) {
      let called = false
      const done = (error?: unknown): void => {
        if (called) return
        called = true
        if (error !== undefined) failure ??= error
        this.travelling--
        if (--left === 0 && failure !== undefined) this.onFailed(unit, failure)
        if (this.travelling === 0 && !this.draining) {
          const next = this.waiting.shift()
          if (next !== undefined) this.dispatch(next)
        }
      }
      this.send(message, done)
    }
  }
}
