import { readFileSync } from 'node:fs'
import { messageId, type Message, type Sender, type SenderContext } from './message'
import { operatorLog } from './notice'
import { EVENT_CONTEXT, type IdentifyTraits, type KeepAliveProperties, type TelemetryProperties } from './report'

/** One event exactly as the Segment SDK puts it in a batch: the same fields, in the same order. */
export interface WireEvent {
  timestamp: string
  integrations: Record<string, never>
  event?: string
  type: 'identify' | 'track'
  traits?: IdentifyTraits
  properties?: TelemetryProperties | KeepAliveProperties
  context: { ip: '0.0.0.0', library: { name: '@segment/analytics-node', version: string } }
  anonymousId: string
  messageId: string
  _metadata: { nodeVersion: string, jsRuntime: 'node' }
}

/** The body of one `POST <host><path>` (one event per batch), the write key redacted. */
export interface WireBatch {
  batch: [WireEvent]
  writeKey: '[redacted]'
  sentAt: string
}

let library: WireEvent['context']['library'] | undefined

/** The Segment SDK's name and version, read from its package.json as a file: nothing here loads the SDK's code. */
function sdkLibrary (): WireEvent['context']['library'] {
  library ??= {
    name: '@segment/analytics-node',
    version: (JSON.parse(readFileSync(require.resolve('@segment/analytics-node/package.json'), 'utf8')) as { version: string }).version
  }
  return library
}

/**
 * What the SDK would post for `message` now: timestamp, integrations, the call, context with the SDK's library,
 * message id, `_metadata`; then the batch's write key (redacted here) and `sentAt`.
 */
export function wireBatch (message: Message, clusterId: string): WireBatch {
  const timestamp = new Date().toISOString()
  const call = message.type === 'identify'
    ? { type: 'identify' as const, traits: { ...message.traits } }
    : { event: message.event, type: 'track' as const, properties: { ...message.properties } }
  const event: WireEvent = {
    timestamp,
    integrations: {},
    ...call,
    context: { ...EVENT_CONTEXT, library: { ...sdkLibrary() } },
    anonymousId: clusterId,
    messageId: messageId(),
    _metadata: { nodeVersion: process.version, jsRuntime: 'node' }
  }
  return { batch: [event], writeKey: '[redacted]', sentAt: timestamp }
}

/**
 * Dry run: logs each event exactly as it would go on the wire, with the write key redacted, where the operator sees
 * it (lib/notice.ts). Nothing is loaded for it and nothing leaves the process.
 */
export function createDryRunSender ({ clusterId, log }: SenderContext): Sender {
  const operator = operatorLog(log)
  return {
    send (message: Message, done: (error?: unknown) => void): void {
      const body = wireBatch(message, clusterId)
      const [event] = body.batch
      const title = `fastify-anonymous-telemetry dry run, not sent: ${event.event ?? event.type}`
      operator.notice({ telemetryEvent: event, telemetryBatch: { writeKey: body.writeKey, sentAt: body.sentAt } }, title,
        `${title} ${JSON.stringify(body)}`)
      // Delivered, as far as the queue is concerned; later, as from the SDK, so that the queue sees no re-entry.
      queueMicrotask(done)
    },
    async close () {}
  }
}
