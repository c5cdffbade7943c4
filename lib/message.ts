import { randomUUID } from 'node:crypto'
import type { FastifyBaseLogger } from 'fastify'
import type { ResolvedOptions } from './options'
import type { IdentifyTraits, KeepAliveProperties, TelemetryProperties } from './report'

// The line between counting and sending. Everything that counts (options, anonymizer, counters, recorder, health,
// snapshot, dry run) speaks only these types; the Segment SDK and undici sit behind `Sender`, in lib/sender.ts,
// which the reporter loads with a dynamic import the first time an event is actually sent.

export type Message =
  | { type: 'identify', traits: IdentifyTraits }
  | { type: 'track', event: string, properties: TelemetryProperties | KeepAliveProperties }

/** Where events go: the Segment SDK over undici, or the dry-run log. */
export interface Sender {
  /** Hands one message over; `done` is called once, when it was delivered or given up on. */
  send (message: Message, done: (error?: unknown) => void): void
  /** `close()`: wait until everything handed over is delivered or given up on, at most `timeout` ms; then let go. */
  close (timeout: number): Promise<void>
}

export interface SenderContext {
  options: ResolvedOptions
  clusterId: string
  log: FastifyBaseLogger
}

/** The SDK's own form of message ids; ours, so that the SDK's delivery events can be matched to the message. */
export function messageId (): string {
  return `node-next-${Date.now()}-${randomUUID()}`
}
