import { FST_TELEMETRY_COLLECTOR_BAD_BODY, FST_TELEMETRY_COLLECTOR_INVALID_EVENT, FST_TELEMETRY_COLLECTOR_OVER_LIMIT } from './errors'
import { MAX_BATCH_EVENTS, MAX_EVENT_BYTES } from './limits'
import type { Schemas } from './schemas'

export type Endpoint = 'batch' | 'identify' | 'track'

/** What a request carries, whichever endpoint it came to. */
export interface Incoming {
  events: unknown[]
  sentAt: string | undefined
  writeKey: string | undefined
}

/** One event, checked, as it will be stored. */
export interface Accepted {
  messageId: string
  /** Its `schemaVersion` when the collector has no schema for it (stored anyway), else undefined. */
  unknownVersion: number | undefined
  line: string
}

type Json = Record<string, unknown>

const isObject = (value: unknown): value is Json => typeof value === 'object' && value !== null && !Array.isArray(value)
const nonEmpty = (value: unknown): value is string => typeof value === 'string' && value.length > 0
const ISO = /^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}(\.\d+)?(Z|[+-]\d{2}:\d{2})$/
/** Fields the collector sets on the stored line, and the key it never stores. */
const OWN_FIELDS = ['writeKey', 'receivedAt', 'sentAt']
const BATCH_FIELDS = new Set(['batch', 'sentAt', 'writeKey'])

function badBody (message: string): Error {
  return new FST_TELEMETRY_COLLECTOR_BAD_BODY(message)
}

function sentAtOf (body: Json): string | undefined {
  if (body.sentAt === undefined) return undefined
  if (typeof body.sentAt !== 'string' || !ISO.test(body.sentAt) || Number.isNaN(Date.parse(body.sentAt))) {
    throw badBody('sentAt must be an ISO 8601 date-time')
  }
  return new Date(body.sentAt).toISOString()
}

function writeKeyOf (body: Json): string | undefined {
  if (body.writeKey !== undefined && typeof body.writeKey !== 'string') throw badBody('writeKey must be a string')
  return body.writeKey
}

/** The events of a body sent to `/v1/<endpoint>`; a single-event endpoint gives the event its `type` when missing. */
export function incoming (body: unknown, endpoint: Endpoint): Incoming {
  if (!isObject(body)) throw badBody('the body must be a JSON object')
  const sentAt = sentAtOf(body)
  const writeKey = writeKeyOf(body)
  if (endpoint !== 'batch') {
    const { writeKey: _key, sentAt: _sentAt, ...event } = body
    if (event.type === undefined) return { events: [{ type: endpoint, ...event }], sentAt, writeKey }
    if (event.type !== endpoint) throw new FST_TELEMETRY_COLLECTOR_INVALID_EVENT(`an event sent to /v1/${endpoint} must have type "${endpoint}"`)
    return { events: [event], sentAt, writeKey }
  }
  const extra = Object.keys(body).find(key => !BATCH_FIELDS.has(key))
  if (extra !== undefined) throw badBody(`unsupported batch field "${extra}" (a batch has batch, sentAt and writeKey)`)
  if (!Array.isArray(body.batch) || body.batch.length === 0) throw badBody('batch must be a non-empty array of events')
  if (body.batch.length > MAX_BATCH_EVENTS) throw new FST_TELEMETRY_COLLECTOR_OVER_LIMIT(`batch holds ${body.batch.length} events; the limit is ${MAX_BATCH_EVENTS}`)
  return { events: body.batch, sentAt, writeKey }
}

/** Segment's own rules, checked before the schema so that the error says the obvious thing. */
function segmentViolation (event: Json): string | undefined {
  if (event.type !== 'identify' && event.type !== 'track') return 'type must be "identify" or "track"'
  if (!nonEmpty(event.anonymousId) && !nonEmpty(event.userId)) return 'anonymousId or userId is required'
  if (event.type === 'track' && !nonEmpty(event.event)) return 'a track needs an event name'
  if (!nonEmpty(event.messageId)) return 'messageId is required (it is what duplicates are recognised by)'
  return undefined
}

function sizeOf (event: Json, where: string): number {
  try {
    return Buffer.byteLength(JSON.stringify(event))
  } catch {
    // Only a nesting too deep for V8's stack gets here: JSON.parse built it, so everything else serialises.
    throw new FST_TELEMETRY_COLLECTOR_INVALID_EVENT(`${where}: nested too deeply`)
  }
}

/**
 * Checks one event; throws an error naming it (`batch[i]`) and why. An event of a `schemaVersion` the collector
 * has no schema for is accepted unchecked beyond Segment's rules: a newer plugin must not lose data.
 */
export function accept (raw: unknown, index: number, schemas: Schemas, receivedAt: string, sentAt: string): Accepted {
  const where = `batch[${index}]`
  if (!isObject(raw)) throw new FST_TELEMETRY_COLLECTOR_INVALID_EVENT(`${where}: an event must be a JSON object`)
  const size = sizeOf(raw, where)
  if (size > MAX_EVENT_BYTES) throw new FST_TELEMETRY_COLLECTOR_OVER_LIMIT(`${where}: event of ${size} bytes; the limit is ${MAX_EVENT_BYTES} (32 KB)`)
  const segment = segmentViolation(raw)
  if (segment !== undefined) throw new FST_TELEMETRY_COLLECTOR_INVALID_EVENT(`${where}: ${segment}`)
  const kind = raw.type === 'identify' ? 'identify' : raw.event as string
  const payload = raw.type === 'identify' ? raw.traits : raw.properties
  const version = isObject(payload) ? payload.schemaVersion : undefined
  if (typeof version !== 'number' || !Number.isInteger(version) || version < 1) {
    throw new FST_TELEMETRY_COLLECTOR_INVALID_EVENT(`${where}: ${raw.type === 'identify' ? 'traits' : 'properties'}.schemaVersion must be a positive integer`)
  }
  const known = schemas.knows(version)
  const violation = known ? schemas.violation(version, kind, raw) : undefined
  if (violation !== undefined) throw new FST_TELEMETRY_COLLECTOR_INVALID_EVENT(`${where} (${kind}, schemaVersion ${version}): ${violation}`)
  const stored: Json = { ...raw }
  for (const field of OWN_FIELDS) delete stored[field]
  stored.receivedAt = receivedAt
  stored.sentAt = sentAt
  return { messageId: raw.messageId as string, unknownVersion: known ? undefined : version, line: JSON.stringify(stored) }
}
