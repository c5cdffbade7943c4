import { createHash } from 'node:crypto'
import { resolve } from 'node:path'
import { FST_TELEMETRY_COLLECTOR_INVALID_OPTION } from './errors'

/** A write key and the source id its events are stored under. */
export interface WriteKey {
  writeKey: string
  /** Directory name under `segment-logs/`. Default: a short stable hash of the key (never the key itself). */
  sourceId?: string
}

export interface CollectorOptions {
  /** Where `segment-logs/<sourceId>/<receivedDay>/*.gz` is written. Created when missing. */
  dataDir: string
  /** The keys senders authenticate with: a key, or a key and its source id. At least one. */
  writeKeys: Array<string | WriteKey>
  /** A file is closed and a new one started once it would grow past this many bytes. Default 64 MiB. */
  maxFileBytes?: number
  /** How many recent `messageId`s are remembered to answer a resent batch without storing it twice. Default 100 000; 0 turns it off. */
  dedupEntries?: number
  /** gzip level of stored members, 0 (none) to 9. Default 6. */
  gzipLevel?: number
  /**
   * The clock, in milliseconds since the epoch: `receivedAt`, the received day and the once-a-minute warnings about
   * unknown keys read it. Default `Date.now`; tests move it.
   */
  now?: () => number
}

export interface Settings {
  dataDir: string
  writeKeys: Array<Required<WriteKey>>
  maxFileBytes: number
  dedupEntries: number
  gzipLevel: number
  now: () => number
}

export const DEFAULTS = { maxFileBytes: 64 * 2 ** 20, dedupEntries: 100_000, gzipLevel: 6 } as const

const SOURCE_ID = /^[A-Za-z0-9_-]{1,64}$/
const KNOWN = new Set(['dataDir', 'writeKeys', 'maxFileBytes', 'dedupEntries', 'gzipLevel', 'now'])
/** Options Fastify itself reads from a plugin's options object. */
const FASTIFY_OPTIONS = new Set(['prefix', 'logLevel', 'logSerializers'])

function shown (value: unknown): string {
  if (typeof value === 'string') return JSON.stringify(value.length > 40 ? `${value.slice(0, 40)}…` : value)
  if (Array.isArray(value)) return 'an array'
  return value === null ? 'null' : typeof value === 'object' ? 'an object' : String(value)
}

function invalid (name: string, expected: string, value: unknown): Error {
  return new FST_TELEMETRY_COLLECTOR_INVALID_OPTION(name, expected, shown(value))
}

/** A short stable hash of the key: the default source id, so that directory names never reveal a key. */
export function defaultSourceId (writeKey: string): string {
  return createHash('sha256').update(writeKey).digest('hex').slice(0, 16)
}

function integer (options: Record<string, unknown>, name: keyof typeof DEFAULTS, min: number, max: number): number {
  const value = options[name] ?? DEFAULTS[name]
  if (typeof value !== 'number' || !Number.isInteger(value) || value < min || value > max) {
    throw invalid(name, `an integer from ${min} to ${max}`, value)
  }
  return value
}

function writeKey (entry: unknown, index: number): Required<WriteKey> {
  const name = `writeKeys[${index}]`
  const key = typeof entry === 'object' && entry !== null ? (entry as WriteKey).writeKey : entry
  // Basic auth splits user and password at the first colon, so a key with one could never match.
  if (typeof key !== 'string' || key.length === 0 || key.includes(':')) throw invalid(name, 'a non-empty key without ":"', key)
  const sourceId = typeof entry === 'object' ? (entry as WriteKey).sourceId ?? defaultSourceId(key) : defaultSourceId(key)
  if (typeof sourceId !== 'string' || !SOURCE_ID.test(sourceId)) throw invalid(`${name}.sourceId`, 'letters, digits, "-" or "_" (1 to 64)', sourceId)
  return { writeKey: key, sourceId }
}

/** Checks every option; the error names the first wrong one. */
export function settingsFrom (options: unknown): Settings {
  if (typeof options !== 'object' || options === null) throw invalid('options', 'an object', options)
  const given = options as Record<string, unknown>
  for (const name of Object.keys(given)) {
    if (!KNOWN.has(name) && !FASTIFY_OPTIONS.has(name)) throw invalid(name, `one of ${[...KNOWN].join(', ')} (unknown option)`, given[name])
  }
  if (typeof given.dataDir !== 'string' || given.dataDir.length === 0) throw invalid('dataDir', 'a directory path', given.dataDir)
  if (!Array.isArray(given.writeKeys) || given.writeKeys.length === 0) throw invalid('writeKeys', 'a non-empty array of keys', given.writeKeys)
  const writeKeys = given.writeKeys.map(writeKey)
  const seen = new Set<string>()
  for (const [index, { writeKey: key }] of writeKeys.entries()) {
    if (seen.has(key)) throw invalid(`writeKeys[${index}]`, 'a key not listed before', key)
    seen.add(key)
  }
  const now = given.now ?? Date.now
  if (typeof now !== 'function') throw invalid('now', 'a function returning milliseconds since the epoch', now)
  return {
    dataDir: resolve(given.dataDir),
    writeKeys,
    maxFileBytes: integer(given, 'maxFileBytes', 1024, 2 ** 40),
    dedupEntries: integer(given, 'dedupEntries', 0, 10_000_000),
    gzipLevel: integer(given, 'gzipLevel', 0, 9),
    now: now as () => number
  }
}
