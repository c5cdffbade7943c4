import type { FastifySchema, LogLevel, onRequestHookHandler } from 'fastify'
import { FST_TELEMETRY_INVALID_OPTION, FST_TELEMETRY_MISSING_OPTION, FST_TELEMETRY_UNKNOWN_OPTION } from './errors'
import { FEATURE_LIMITS, OTHER_VALUE, type FeatureOptions, type ResolvedFeatures } from './features'

/** Options of the optional health route. */
export interface HealthOptions {
  /** Path of the route. Default `'/health'`. */
  url?: string
  /** Include the current telemetry snapshot in the answer while telemetry is on. Default `false`. */
  metrics?: boolean
  /** Hook(s) run before the route, e.g. to require a token: public metrics reveal traffic volumes. */
  onRequest?: onRequestHookHandler | onRequestHookHandler[]
  /**
   * Log level of the route's request log lines, e.g. `'warn'` so that probes do not flood the log. Default: the
   * register option `logLevel` if given, else the server's.
   */
  logLevel?: LogLevel
  /**
   * The route's schema. Default `{ hide: true }`, which keeps the route out of `@fastify/swagger`'s documentation;
   * give a schema without `hide` (e.g. `{ tags: ['ops'] }`) to show it.
   */
  schema?: FastifySchema & Record<string, unknown>
}

/** Options of `fastify.register(telemetry, options)`. */
export interface TelemetryOptions {
  /** Segment write key. Required while telemetry is on, except in dry run. */
  writeKey?: string
  /** The installation's public URL. Only its SHA-512 (or HMAC) leaves the process, as the cluster id. Required while on. */
  issuerUrl?: string
  /** Allow-list of literal paths that may appear in reports; `/` is always added. Required while on, except in dry run. */
  endpoints?: readonly string[]
  /** Secret that turns the cluster id into HMAC-SHA-512(hashKey, issuerUrl), which nobody can recompute from a guessed URL. */
  hashKey?: string
  /** Master switch. Default `true`. `DISABLE_TELEMETRY` / `DO_NOT_TRACK` can only turn it off. */
  enabled?: boolean
  /** Base URL of a Segment-compatible HTTP API. Default `'https://api.segment.io'`. */
  host?: string
  /** Path of the batch endpoint on `host`. Default `'/v1/batch'`. */
  path?: string
  /** Version of the host application. Default `'unknown'`. */
  version?: string
  /** Source revision of the host application. Default `'unknown'`. */
  hash?: string
  /** Build time of the host application. Default `'unknown'`. */
  buildTime?: string
  /** Milliseconds of uptime before anything is sent. Default 900 000 (15 min). */
  identifyAfter?: number
  /** Milliseconds between reports. Default 900 000 (15 min). */
  reportInterval?: number
  /** Milliseconds between keep-alives. Default 300 000 (5 min). */
  keepAliveInterval?: number
  /** Milliseconds that `fastify.close()` may spend delivering the last events. Default 5 000. */
  flushTimeout?: number
  /** Health route: `false` (default), `true` (= `{}`), or its options. */
  health?: boolean | HealthOptions
  /** Log every event through `fastify.log` instead of sending it. Default `false`. `TELEMETRY_DRY_RUN` forces it on. */
  dryRun?: boolean
  /** Allow-listed feature facts and counters, set with `fastify.telemetry.fact()` and `counter()`. Default none. */
  features?: FeatureOptions
}

export interface ResolvedHealth {
  /** With the register option `prefix` in front. */
  url: string
  metrics: boolean
  onRequest: onRequestHookHandler[]
  logLevel: LogLevel | undefined
  schema: FastifySchema & Record<string, unknown>
}

export interface BuildFacts {
  version: string
  hash: string
  buildTime: string
}

export interface ResolvedOptions {
  enabled: boolean
  /** What turned telemetry off (`'option enabled: false'`, `'env DISABLE_TELEMETRY'`, ...), or `null`. */
  disabledBy: string | null
  dryRun: boolean
  writeKey: string
  issuerUrl: string
  /** `null` in dry run without an allow-list: every route template the app registers is used. */
  endpoints: string[] | null
  hashKey: string | null
  host: string
  path: string
  build: BuildFacts
  identifyAfter: number
  reportInterval: number
  keepAliveInterval: number
  flushTimeout: number
  health: ResolvedHealth | null
  features: ResolvedFeatures
  /** The register options `logLevel` and `logSerializers`, for the plugin's own logger. */
  log: { level?: LogLevel, serializers?: Record<string, (value: any) => unknown> }
}

export const DEFAULTS = {
  host: 'https://api.segment.io',
  path: '/v1/batch',
  identifyAfter: 15 * 60 * 1000,
  reportInterval: 15 * 60 * 1000,
  keepAliveInterval: 5 * 60 * 1000,
  flushTimeout: 5000,
  healthUrl: '/health'
} as const

/** Node timers fire immediately for delays above 2^31 - 1 ms. */
export const MAX_TIMER_MS = 2_147_483_647

// Fastify hands these to every plugin along with its own options.
const FASTIFY_REGISTER_OPTIONS = ['prefix', 'logLevel', 'logSerializers']

const KNOWN_OPTIONS: ReadonlyArray<keyof TelemetryOptions> = [
  'writeKey', 'issuerUrl', 'endpoints', 'hashKey', 'enabled', 'host', 'path', 'version', 'hash', 'buildTime',
  'identifyAfter', 'reportInterval', 'keepAliveInterval', 'flushTimeout', 'health', 'dryRun', 'features'
]
const HEALTH_OPTIONS: ReadonlyArray<keyof HealthOptions> = ['url', 'metrics', 'onRequest', 'logLevel', 'schema']

const LOG_LEVELS: readonly LogLevel[] = ['fatal', 'error', 'warn', 'info', 'debug', 'trace', 'silent']

const FALSY_ENV = new Set(['', '0', 'false', 'no'])

/** `DO_NOT_TRACK=1` style switch: any value but empty, `0`, `false` or `no` (any case) counts as set. */
export function isEnvSwitchOn (value: string | undefined): boolean {
  return value !== undefined && !FALSY_ENV.has(value.trim().toLowerCase())
}

function describe (value: unknown): string {
  if (value === null) return 'null'
  if (Array.isArray(value)) return 'an array'
  if (value === '') return 'an empty string'
  if (typeof value === 'string') return value.length > MAX_SENT_STRING_LENGTH ? `a string of ${value.length} characters` : 'a string'
  if (typeof value === 'number') return `the number ${value}`
  return `a value of type ${typeof value}`
}

function invalid (name: string, expected: string, value: unknown): never {
  throw new FST_TELEMETRY_INVALID_OPTION(name, expected, describe(value))
}

function checkKeys (name: string | null, value: object, known: readonly string[]): void {
  for (const key of Object.keys(value)) {
    if (!known.includes(key) && !(name === null && FASTIFY_REGISTER_OPTIONS.includes(key))) {
      throw new FST_TELEMETRY_UNKNOWN_OPTION(name === null ? key : `${name}.${key}`, known.join(', '))
    }
  }
}

function optionalString (name: string, value: unknown): string | undefined {
  if (value === undefined) return undefined
  if (typeof value !== 'string' || value.trim() === '') invalid(name, 'a non-empty string', value)
  return value
}

/** Build facts and endpoints travel in events: bounded, so that no option can push an event over 32 KB. */
export const MAX_SENT_STRING_LENGTH = 200

function sentString (name: string, value: unknown): string | undefined {
  const text = optionalString(name, value)
  if (text !== undefined && text.length > MAX_SENT_STRING_LENGTH) {
    invalid(name, `a non-empty string of at most ${MAX_SENT_STRING_LENGTH} characters`, text)
  }
  return text
}

function optionalBoolean (name: string, value: unknown): boolean | undefined {
  if (value === undefined) return undefined
  if (typeof value !== 'boolean') invalid(name, 'a boolean', value)
  return value
}

function milliseconds (name: string, value: unknown, fallback: number): number {
  if (value === undefined) return fallback
  if (typeof value !== 'number' || !Number.isInteger(value) || value < 1 || value > MAX_TIMER_MS) {
    invalid(name, `an integer number of milliseconds from 1 to ${MAX_TIMER_MS}`, value)
  }
  return value
}

function absoluteUrl (name: string, value: unknown, protocols: readonly string[]): URL | undefined {
  const text = optionalString(name, value)
  if (text === undefined) return undefined
  const expected = `an absolute ${protocols.join(' or ')} URL`
  if (!URL.canParse(text)) invalid(name, expected, value)
  const url = new URL(text)
  if (!protocols.includes(url.protocol.slice(0, -1))) invalid(name, expected, value)
  return url
}

function routePath (name: string, value: unknown): string | undefined {
  const text = optionalString(name, value)
  if (text !== undefined && !/^\/[^\s?#]*$/.test(text)) invalid(name, 'a path starting with "/" without spaces, "?" or "#"', value)
  return text
}

/** A literal endpoint: `/a/b`, no parameters or wildcards, no trailing slash (one is removed). */
function endpointList (value: unknown): string[] | undefined {
  if (value === undefined) return undefined
  const expected = `an array of literal paths such as "/clients" (no ":param", "*", "?", "#" or spaces; at most ${MAX_SENT_STRING_LENGTH} characters)`
  if (!Array.isArray(value)) invalid('endpoints', expected, value)
  const endpoints = new Set(['/'])
  for (const entry of value as unknown[]) {
    if (typeof entry !== 'string' || !/^\/[^\s?#:*]*$/.test(entry) || entry.includes('//') || entry.length > MAX_SENT_STRING_LENGTH) {
      invalid('endpoints', expected, entry)
    }
    endpoints.add(entry.length > 1 && entry.endsWith('/') ? entry.slice(0, -1) : entry)
  }
  return [...endpoints].sort()
}

const FEATURE_NAME = /^[a-z0-9][a-z0-9_.-]{0,63}$/
const FEATURE_NAME_TEXT = 'of lowercase letters, digits, "_", "." and "-", starting with a letter or digit, at most 64 characters'

/** A bad feature name or value as received: shown as it is, since it is a literal from the app's own code. */
function received (value: unknown): string {
  return typeof value === 'string' && value.length <= MAX_SENT_STRING_LENGTH ? JSON.stringify(value) : describe(value)
}

/** Sorted, deduplicated names, each a literal that may travel in events; an error names the entry's own path. */
function featureNames (path: (index: number) => string, entries: unknown[], what: string): string[] {
  const names = new Set<string>()
  entries.forEach((entry, index) => {
    if (typeof entry !== 'string' || !FEATURE_NAME.test(entry)) {
      throw new FST_TELEMETRY_INVALID_OPTION(path(index), `${what} ${FEATURE_NAME_TEXT}`, received(entry))
    }
    names.add(entry)
  })
  return [...names].sort()
}

function featureList (name: string, value: unknown, what: string, fewest: number, most: number): string[] {
  const expected = `an array of ${fewest} to ${most} ${what}s`
  if (!Array.isArray(value)) invalid(name, expected, value)
  const names = featureNames(index => `${name}[${index}]`, value, `a ${what}`)
  if (names.length < fewest || names.length > most) throw new FST_TELEMETRY_INVALID_OPTION(name, expected, `${names.length} distinct ${what}s`)
  return names
}

/** `features`: the facts and counters the app may set, each name and value a bounded literal. */
function featureOptions (value: unknown): ResolvedFeatures {
  if (value === undefined) return { facts: new Map(), counters: [] }
  if (!isPlainObject(value)) invalid('features', 'an object { facts, counters }', value)
  checkKeys('features', value, ['facts', 'counters'])
  const { facts = {}, counters = [] } = value as FeatureOptions
  const factsExpected = `an object of 0 to ${FEATURE_LIMITS.facts} facts, each name -> its array of values`
  if (!isPlainObject(facts)) invalid('features.facts', factsExpected, facts)
  const keys = Object.keys(facts)
  const names = featureNames(index => `features.facts.${keys[index]}`, keys, 'a fact name')
  if (names.length > FEATURE_LIMITS.facts) throw new FST_TELEMETRY_INVALID_OPTION('features.facts', factsExpected, `${names.length} facts`)
  const resolved = new Map<string, ReadonlySet<string>>()
  for (const name of names) {
    const option = `features.facts.${name}`
    const values = featureList(option, facts[name], 'value', 1, FEATURE_LIMITS.values)
    const other = (facts[name] as string[]).indexOf(OTHER_VALUE)
    if (other !== -1) {
      const expected = `a value other than "${OTHER_VALUE}", which is reported for any value not listed`
      throw new FST_TELEMETRY_INVALID_OPTION(`${option}[${other}]`, expected, received(OTHER_VALUE))
    }
    resolved.set(name, new Set(values))
  }
  return { facts: resolved, counters: featureList('features.counters', counters, 'counter name', 0, FEATURE_LIMITS.counters) }
}

function logLevel (name: string, value: unknown): LogLevel | undefined {
  if (value !== undefined && !LOG_LEVELS.includes(value as LogLevel)) invalid(name, `one of ${LOG_LEVELS.join(', ')}`, value)
  return value as LogLevel | undefined
}

function isPlainObject (value: unknown): value is Record<string, unknown> {
  return typeof value === 'object' && value !== null && !Array.isArray(value)
}

/** `prefix` is Fastify's register option, which Fastify ignores for this plugin (fastify-plugin): it moves the health route. */
function healthOptions (value: unknown, prefixOption: unknown, defaultLogLevel: LogLevel | undefined): ResolvedHealth | null {
  const prefix = routePath('prefix', prefixOption)?.replace(/\/+$/, '') ?? ''
  if (value === undefined || value === false) {
    if (prefixOption !== undefined) invalid('prefix', 'left out: it only moves the health route, and the health option is off', prefixOption)
    return null
  }
  const health = value === true ? {} : value
  if (!isPlainObject(health)) invalid('health', 'a boolean or an object { url, metrics, onRequest, logLevel, schema }', value)
  checkKeys('health', health, HEALTH_OPTIONS)
  const { url, metrics, onRequest, schema } = health as HealthOptions
  const hooks = onRequest === undefined ? [] : [onRequest].flat()
  if (hooks.some(hook => typeof hook !== 'function')) {
    invalid('health.onRequest', 'a hook function or an array of hook functions', onRequest)
  }
  if (schema !== undefined && !isPlainObject(schema)) invalid('health.schema', 'a route schema object', schema)
  const path = routePath('health.url', url) ?? DEFAULTS.healthUrl
  return {
    url: prefix === '' ? path : `${prefix}${path === '/' ? '' : path}`,
    metrics: optionalBoolean('health.metrics', metrics) ?? false,
    onRequest: hooks,
    logLevel: logLevel('health.logLevel', (health as HealthOptions).logLevel) ?? defaultLogLevel,
    schema: schema ?? { hide: true }
  }
}

function logSerializers (value: unknown): ResolvedOptions['log']['serializers'] {
  if (value === undefined) return undefined
  if (!isPlainObject(value) || Object.values(value).some(serializer => typeof serializer !== 'function')) {
    invalid('logSerializers', 'an object of serializer functions', value)
  }
  return value as ResolvedOptions['log']['serializers']
}

/** Only the keys given: pino's `child` reads a `serializers` key even when it is undefined. */
function loggerOptions (level: LogLevel | undefined, serializers: ResolvedOptions['log']['serializers']): ResolvedOptions['log'] {
  return { ...(level === undefined ? {} : { level }), ...(serializers === undefined ? {} : { serializers }) }
}

/** A path on `host` itself: resolved against it, it must keep host's origin and stay exactly as given. */
function batchPath (value: unknown, host: string): string | undefined {
  const path = routePath('path', value)
  if (path === undefined) return undefined
  const url = new URL(path, host)
  if (url.origin !== host || url.pathname !== path || (path !== '/' && path.endsWith('/'))) {
    invalid('path', `a path on "host" itself, without "//", "\\", "." or ".." segments or a trailing "/" (it resolves to ${url.origin}${url.pathname})`, value)
  }
  return path
}

/**
 * Checks every option and applies defaults and the environment switches. Throws an `FST_TELEMETRY_*` error that
 * names the first bad option. `env` is a parameter so that tests need not touch `process.env`.
 */
export function resolveOptions (input: unknown, env: NodeJS.ProcessEnv = process.env): ResolvedOptions {
  if (input === undefined || input === null) input = {}
  if (typeof input !== 'object' || Array.isArray(input)) invalid('options', 'an object', input)
  const opts = input as Record<keyof TelemetryOptions | 'prefix' | 'logLevel' | 'logSerializers', unknown>
  checkKeys(null, opts, KNOWN_OPTIONS)

  const enabledOption = optionalBoolean('enabled', opts.enabled) ?? true
  const dryRunOption = optionalBoolean('dryRun', opts.dryRun) ?? false
  const writeKey = optionalString('writeKey', opts.writeKey)
  const issuer = absoluteUrl('issuerUrl', opts.issuerUrl, ['http', 'https'])
  const endpoints = endpointList(opts.endpoints)
  const host = absoluteUrl('host', opts.host, ['http', 'https'])
  // The Segment SDK silently drops a path inside `host`; it belongs in `path`.
  if (host !== undefined && host.href !== `${host.origin}/`) {
    invalid('host', 'an origin such as "https://api.segment.io" (put any path in the "path" option)', opts.host)
  }
  const resolved: ResolvedOptions = {
    enabled: enabledOption,
    disabledBy: null,
    dryRun: dryRunOption || isEnvSwitchOn(env.TELEMETRY_DRY_RUN),
    writeKey: writeKey ?? '',
    issuerUrl: issuer?.href ?? '',
    endpoints: endpoints ?? null,
    hashKey: optionalString('hashKey', opts.hashKey) ?? null,
    host: host?.origin ?? DEFAULTS.host,
    path: batchPath(opts.path, host?.origin ?? DEFAULTS.host) ?? DEFAULTS.path,
    build: {
      version: sentString('version', opts.version) ?? 'unknown',
      hash: sentString('hash', opts.hash) ?? 'unknown',
      buildTime: sentString('buildTime', opts.buildTime) ?? 'unknown'
    },
    identifyAfter: milliseconds('identifyAfter', opts.identifyAfter, DEFAULTS.identifyAfter),
    reportInterval: milliseconds('reportInterval', opts.reportInterval, DEFAULTS.reportInterval),
    keepAliveInterval: milliseconds('keepAliveInterval', opts.keepAliveInterval, DEFAULTS.keepAliveInterval),
    flushTimeout: milliseconds('flushTimeout', opts.flushTimeout, DEFAULTS.flushTimeout),
    health: healthOptions(opts.health, opts.prefix, logLevel('logLevel', opts.logLevel)),
    features: featureOptions(opts.features),
    log: loggerOptions(logLevel('logLevel', opts.logLevel), logSerializers(opts.logSerializers))
  }

  if (!enabledOption) resolved.disabledBy = 'option enabled: false'
  else if (isEnvSwitchOn(env.DISABLE_TELEMETRY)) resolved.disabledBy = 'env DISABLE_TELEMETRY'
  else if (isEnvSwitchOn(env.DO_NOT_TRACK)) resolved.disabledBy = 'env DO_NOT_TRACK'
  if (resolved.disabledBy !== null) {
    resolved.enabled = false
    resolved.dryRun = false
    return resolved
  }

  if (issuer === undefined) throw new FST_TELEMETRY_MISSING_OPTION('issuerUrl', 'while telemetry is on')
  if (!resolved.dryRun) {
    if (writeKey === undefined) throw new FST_TELEMETRY_MISSING_OPTION('writeKey', 'while telemetry is on (or use dryRun)')
    if (endpoints === undefined) throw new FST_TELEMETRY_MISSING_OPTION('endpoints', 'while telemetry is on (or use dryRun to list them)')
  }
  return resolved
}
