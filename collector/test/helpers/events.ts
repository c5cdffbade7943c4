import { randomUUID } from 'node:crypto'

let counter = 0

/** A keep-alive exactly as the plugin (schemaVersion 1) sends it: valid against schema/v1/keep-alive.json. */
export function keepAlive (overrides: Record<string, unknown> = {}): Record<string, unknown> {
  counter++
  return {
    type: 'track',
    event: 'keep-alive',
    anonymousId: 'ab'.repeat(64),
    properties: { instanceId: randomUUID(), schemaVersion: 1 },
    context: { ip: '0.0.0.0', library: { name: '@segment/analytics-node', version: '3.1.0' } },
    messageId: `node-next-${1_700_000_000_000 + counter}-${randomUUID()}`,
    timestamp: new Date(1_700_000_000_000 + counter).toISOString(),
    _metadata: { nodeVersion: process.version, jsRuntime: 'node' },
    integrations: {},
    ...overrides
  }
}

/** A batch body of `events`, as the Segment SDK sends it. */
export function batch (events: unknown[], extra: Record<string, unknown> = {}): string {
  return JSON.stringify({ batch: events, sentAt: new Date().toISOString(), ...extra })
}
