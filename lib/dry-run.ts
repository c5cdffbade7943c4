import { readFileSync } from 'node:fs'
import { messageId, type Message, type Sender, type SenderContext } from './message'
import { EVENT_CONTEXT } from './report'

/** The Segment SDK's version, read from its package.json as a file: dry run never loads the SDK's code. */
function sdkVersion (): string {
  return (JSON.parse(readFileSync(require.resolve('@segment/analytics-node/package.json'), 'utf8')) as { version: string }).version
}

/**
 * Dry run: logs each event exactly as the Segment SDK would put it on the wire (the same fields in the same order:
 * timestamp, integrations, context with the SDK's library name and version, message id, `_metadata`), with the
 * write key redacted. Nothing is loaded for it and nothing leaves the process.
 */
export function createDryRunSender ({ clusterId, log }: SenderContext): Sender {
  const library = { name: '@segment/analytics-node', version: sdkVersion() }
  const metadata = { nodeVersion: process.version, jsRuntime: 'node' }
  return {
    send (message: Message, done: (error?: unknown) => void): void {
      const timestamp = new Date().toISOString()
      const body = message.type === 'identify'
        ? { type: 'identify', traits: { ...message.traits } }
        : { event: message.event, type: 'track', properties: { ...message.properties } }
      const event = {
        timestamp,
        integrations: {},
        ...body,
        context: { ...EVENT_CONTEXT, library },
        anonymousId: clusterId,
        messageId: messageId(),
        _metadata: metadata
      }
      log.info({ telemetryEvent: event, telemetryBatch: { writeKey: '[redacted]', sentAt: timestamp } },
        `fastify-anonymous-telemetry dry run, not sent: ${message.type === 'identify' ? 'identify' : message.event}`)
      // Delivered, as far as the queue is concerned; later, as from the SDK, so that the queue sees no re-entry.
      queueMicrotask(done)
    },
    async close () {}
  }
}
