import { createHash, createHmac, randomUUID } from 'node:crypto'
import { availableParallelism } from 'node:os'
import type { ReportedMethod } from './anonymizer'
import type { MetricsRecord, MetricsSnapshot } from './counters'
import type { FeatureRecords } from './features'
import type { MemoryRecord } from './memory'
import type { BuildFacts } from './options'

/**
 * Version of the event format, in every event. Raised whenever a field changes meaning or disappears. 2: a report's
 * parts may divide one endpoint's records between them, and top-level `methods` too (see `splitReport`). 3: part 1
 * carries the feature `facts` and `features` (counters).
 */
export const SCHEMA_VERSION = 3

/** Event names, as they arrive at Segment. */
export const EVENTS = { report: 'telemetry', keepAlive: 'keep-alive' } as const

/** Segment rejects events above 32 KB. */
export const MAX_EVENT_BYTES = 32 * 1024
/** Room left for what the Segment SDK wraps around `properties` (ids, timestamps, context, library): measured about 450 bytes. */
export const ENVELOPE_BYTES = 2 * 1024

/** Every event's `context`: Segment would otherwise record the sender's address. */
export const EVENT_CONTEXT = Object.freeze({ ip: '0.0.0.0' })

/**
 * The cluster id: hex SHA-512 of the issuer URL, or HMAC-SHA-512 keyed with `hashKey`. Without a key it is a
 * pseudonym: anyone who guesses the URL can recompute it.
 */
export function clusterIdOf (issuerUrl: string, hashKey: string | null): string {
  const hash = hashKey === null ? createHash('sha512') : createHmac('sha512', hashKey)
  return hash.update(issuerUrl).digest('hex')
}

export interface IdentifyTraits extends BuildFacts {
  instanceId: string
  schemaVersion: number
  /** `process.platform`: linux, darwin, win32, ... */
  os: string
  /** `process.arch`: x64, arm64, ... */
  arch: string
  /** `os.availableParallelism()`. */
  numCpu: number
  /** `process.version`. */
  runtimeVersion: string
}

export function identifyTraits (instanceId: string, build: BuildFacts): IdentifyTraits {
  return {
    instanceId,
    schemaVersion: SCHEMA_VERSION,
    os: process.platform,
    arch: process.arch,
    numCpu: availableParallelism(),
    runtimeVersion: process.version,
    version: build.version,
    hash: build.hash,
    buildTime: build.buildTime
  }
}

export interface KeepAliveProperties {
  instanceId: string
  schemaVersion: number
}

/** What `fastify.telemetry.snapshot()` returns: one whole report, before splitting. */
export interface TelemetrySnapshot extends MetricsSnapshot, FeatureRecords {
  instanceId: string
  schemaVersion: number
  /** Whole seconds since the server became ready. */
  uptime: number
  memory: MemoryRecord
}

/** HTTP method -> metrics record, methods without traffic left out. */
export type MethodRecords = Partial<Record<ReportedMethod, MetricsRecord>>

/**
 * One endpoint in one part of a report: its totals (all six metrics fields, or none of them: they may travel in
 * another part) and some of its methods (the others may travel in other parts).
 */
export interface PathPart extends Partial<MetricsRecord> {
  methods: MethodRecords
}

/**
 * Properties of one `telemetry` event: one part of a report. A report is cut into metrics records, each of which
 * travels whole in exactly one part: the report's totals (with `memory`, always in part 1), each top-level method,
 * each endpoint's totals, and each (endpoint, method) record. `mergeReport` puts them back together.
 */
export interface TelemetryProperties extends Partial<MetricsRecord> {
  instanceId: string
  schemaVersion: number
  uptime: number
  methods: MethodRecords
  paths: Record<string, PathPart>
  /** Part 1 only, with the report's totals. */
  memory?: MemoryRecord
  /** Part 1 only: fact name -> the value last set (facts never set are left out). */
  facts?: Record<string, string>
  /** Part 1 only: counter name -> uses since the instance started. */
  features?: Record<string, number>
  /** Shared by every part of one report. */
  reportId: string
  /** 1-based. */
  part: number
  parts: number
}

function byteLength (value: unknown): number {
  return Buffer.byteLength(JSON.stringify(value))
}

/** One metrics record of a report: what it costs in a part at most, and how to put it there. */
interface Unit {
  /**
   * Bytes of the record alone inside its smallest wrapping (`{"GET":…}`, `{"/x":{"methods":{"GET":…}}}`): in a
   * part it adds at most that, since the wrapping's two braces pay for the comma before it and any wrapping it
   * shares with an earlier record of its endpoint is already paid for. So a part's size never exceeds its
   * skeleton's plus the sum of its units' costs.
   */
  cost: number
  place: (part: TelemetryProperties) => void
}

/** The records of a snapshot in the order they are packed: an endpoint's totals always before its methods. */
function * unitsOf ({ methods, paths }: TelemetrySnapshot): Generator<Unit> {
  for (const [method, record] of Object.entries(methods)) {
    yield { cost: byteLength({ [method]: record }), place: part => { part.methods[method as ReportedMethod] = record } }
  }
  for (const [endpoint, { methods: pathMethods, ...totals }] of Object.entries(paths)) {
    yield {
      cost: byteLength({ [endpoint]: { ...totals, methods: {} } }),
      place: part => { part.paths[endpoint] = { ...totals, methods: {} } }
    }
    for (const [method, record] of Object.entries(pathMethods)) {
      yield {
        cost: byteLength({ [endpoint]: { methods: { [method]: record } } }),
        place: part => { (part.paths[endpoint] ??= { methods: {} }).methods[method as ReportedMethod] = record }
      }
    }
  }
}

/** Numbering is only known at the end: size every part as if its `part` and `parts` had the most digits possible. */
const WIDEST_NUMBER = Number.MAX_SAFE_INTEGER

/**
 * Turns a snapshot into `telemetry` event properties: as many parts as needed to keep each event under
 * `maxEventBytes` (Segment's 32 KB by default), losslessly. Every metrics record lands whole in exactly one
 * part, packed in order: part 1 holds the report's totals, `memory`, `facts` and `features` (at most about 10 KB with every feature option at
 * its limit) and then as many records as fit, each
 * further part as many as fit. A report that fits in one event is the snapshot itself plus `reportId`, `part` and
 * `parts`. The largest record possible (all 501 status codes, every counter at 2^53) is about 12 KB, so with the
 * default limit every part has room for at least one record; a record larger than a whole part (only with a tiny
 * `maxEventBytes`) still travels, alone in its part.
 */
export function splitReport (snapshot: TelemetrySnapshot, maxEventBytes = MAX_EVENT_BYTES): TelemetryProperties[] {
  const budget = maxEventBytes - ENVELOPE_BYTES
  const { instanceId, schemaVersion, uptime } = snapshot
  const reportId = randomUUID()
  const numbers = { reportId, part: WIDEST_NUMBER, parts: WIDEST_NUMBER }
  const first: TelemetryProperties = { ...snapshot, methods: {}, paths: {}, ...numbers }
  const fresh = (): TelemetryProperties => ({ instanceId, schemaVersion, uptime, methods: {}, paths: {}, ...numbers })
  const skeleton = byteLength(fresh())
  const parts = [first]
  let current = first
  let used = byteLength(first)
  let records = 0
  for (const unit of unitsOf(snapshot)) {
    // A continuation part that is still empty cannot do better than take the record, whatever its size.
    if (used + unit.cost > budget && (records > 0 || current === first)) {
      current = fresh()
      parts.push(current)
      used = skeleton
      records = 0
    }
    unit.place(current)
    used += unit.cost
    records++
  }
  parts.forEach((properties, index) => {
    properties.part = index + 1
    properties.parts = parts.length
  })
  return parts
}
