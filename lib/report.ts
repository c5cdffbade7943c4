import { createHash, createHmac, randomUUID } from 'node:crypto'
import { availableParallelism } from 'node:os'
import type { MetricsSnapshot, PathRecord } from './counters'
import type { MemoryRecord } from './memory'
import type { BuildFacts } from './options'

/** Version of the event format. Raised whenever a field changes meaning or disappears. */
export const SCHEMA_VERSION = 1

/** Event names, as they arrive at Segment. */
export const EVENTS = { report: 'telemetry', keepAlive: 'keep-alive' } as const

/** Segment rejects events above 32 KB. */
export const MAX_EVENT_BYTES = 32 * 1024
/** Room left for what the Segment SDK wraps around `properties` (ids, timestamps, context, library). */
const ENVELOPE_BYTES = 2 * 1024

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
export interface TelemetrySnapshot extends MetricsSnapshot {
  instanceId: string
  schemaVersion: number
  /** Whole seconds since the server became ready. */
  uptime: number
  memory: MemoryRecord
}

/** Properties of one `telemetry` event: a report, or one part of a report too large for one event. */
export interface TelemetryProperties extends Partial<TelemetrySnapshot> {
  instanceId: string
  schemaVersion: number
  uptime: number
  paths: Record<string, PathRecord>
  /** Shared by every part of one report. */
  reportId: string
  /** 1-based; part 1 carries the totals, `methods` and `memory`. */
  part: number
  parts: number
}

function byteLength (value: unknown): number {
  return Buffer.byteLength(JSON.stringify(value))
}

/**
 * Turns a snapshot into `telemetry` event properties, splitting `paths` across as many events as needed to keep
 * each under Segment's 32 KB limit. Nothing is dropped: every path lands in exactly one part.
 */
export function splitReport (snapshot: TelemetrySnapshot, maxEventBytes = MAX_EVENT_BYTES): TelemetryProperties[] {
  const budget = maxEventBytes - ENVELOPE_BYTES
  const { paths, instanceId, schemaVersion, uptime } = snapshot
  const reportId = randomUUID()
  const head = { instanceId, schemaVersion, uptime, reportId, part: 1, parts: 1 }
  const parts: TelemetryProperties[] = [{ ...snapshot, ...head, paths: {} }]
  // The `part`/`parts` placeholders above are single digits; leave room for longer numbers.
  let used = byteLength(parts[0]) + 16
  for (const [endpoint, record] of Object.entries(paths)) {
    const size = byteLength(endpoint) + byteLength(record) + 2
    if (used + size > budget && Object.keys(parts[parts.length - 1].paths).length > 0) {
      const next: TelemetryProperties = { ...head, paths: {} }
      parts.push(next)
      used = byteLength(next) + 16
    }
    parts[parts.length - 1].paths[endpoint] = record
    used += size
  }
  parts.forEach((properties, index) => {
    properties.part = index + 1
    properties.parts = parts.length
  })
  return parts
}
