import { createHash } from 'node:crypto'
import { open, type FileHandle } from 'node:fs/promises'
import { join } from 'node:path'
import { gzipSync } from 'node:zlib'
import { dayDir, ensureDir } from '../storage/layout'

export interface SimulateOptions {
  installations: number
  days: number
  out: string
  seed?: number
  /** First simulated UTC day, `YYYY-MM-DD` (default 2026-01-01). */
  start?: string
  /**
   * Event format (default 3: part 1 carries feature facts and counters; 2 spreads an endpoint's methods over the
   * parts of a report, as 3 does; 1 deals whole endpoints).
   */
  schemaVersion?: 1 | 2 | 3
  sourceId?: string
  /** Called after each day written. */
  onProgress?(progress: { day: number, days: number, events: number }): void
  /** Latency multipliers on the newest version simulated, per endpoint (all its methods): `{ '/books': 1.6 }`. */
  slower?: { [endpoint: string]: number }
  /** 5xx rate multipliers on the newest version simulated, per endpoint. */
  errors?: { [endpoint: string]: number }
  /**
   * The built-in differences between versions (2.0.0 faster, 2.2.0 slower and failing three times as often); false
   * makes every version alike, but for `slower` and `errors`. Default true.
   */
  versionEffects?: boolean
}

export interface SimulateSummary {
  files: number
  events: number
  /** Uncompressed bytes written. */
  bytes: number
  /** Requests behind the last delivered complete report of every instance: what the model must count. */
  requests: number
  /** Per day, version, fact and value, what `daily_facts` must hold (schemaVersion 3; none before). */
  facts: FactTruth[]
  /** Per day, version and counter, what `daily_features` must hold (schemaVersion 3; none before). */
  features: FeatureTruth[]
}

export interface FactTruth { day: string, version: string, name: string, value: string, installations: number, instances: number }
export interface FeatureTruth { day: string, version: string, name: string, installations: number, installationsUsing: number, uses: number }

const DAY_MS = 86_400_000
const REPORT_S = 900
/** The endpoints a simulated installation may serve (each one serves `/` and about 60 % of the others). */
export const ENDPOINTS = ['/', '/health', '/login', '/logout', '/users', '/users/me', '/books', '/books/search', '/orders',
  '/orders/export', '/cart', '/checkout', '/payments', '/webhooks', '/admin', '/admin/stats', '/files', '/files/upload',
  '/search', '/ws']
const VERSIONS = ['1.0.0', '1.1.0', '1.2.0', '2.0.0', '2.1.0', '2.2.0', '3.0.0']
const RELEASE_EVERY_DAYS = 7
/** Median latency factor per version: 2.0.0 got faster, 2.2.0 regressed. */
const VERSION_SPEED = [1, 0.95, 0.9, 0.7, 0.7, 1.4, 0.8]
/** 5xx rate factor per version: 2.2.0 fails three times as often. */
const VERSION_ERRORS = [1, 1, 1, 1, 1, 3, 1]
/** The plugin's bucket bounds, with the open top bucket last. */
const LATENCY_BOUNDS = [1, 2.5, 5, 10, 25, 50, 100, 250, 500, 1000, 2500, 5000, 10000, Infinity]
const SIZE_BOUNDS = [64, 256, 1024, 4096, 16384, 65536, 262144, 1048576, 4194304, Infinity]
/**
 * The facts every simulated installation sets, each value with its share of installations. An installation keeps
 * its values; `other` is what the plugin sends for a value not on the fact's list.
 */
const FACTS: { [name: string]: Array<[string, number]> } = {
  storage: [['postgres', 0.55], ['sqlite', 0.3], ['memory', 0.15]],
  cache: [['redis', 0.45], ['memory', 0.35], ['none', 0.17], ['other', 0.03]]
}
/** The share of installations that move their storage to postgres once (from their next start on). */
const STORAGE_SWITCH = 0.05
/**
 * The counters: the share of installations that use each (the others report it at 0) and the most uses an
 * installation averages per report interval. `admin.bulk_edit` is used by a few installations, so that the privacy
 * floor has something to hide; `recommendations` only exists in the newest version simulated.
 */
const FEATURE_COUNTERS: Array<{ name: string, share: number, rate: number, newest?: true }> = [
  { name: 'orders.export', share: 0.5, rate: 4 },
  { name: 'webhooks.sent', share: 0.3, rate: 20 },
  { name: 'search.queries', share: 0.8, rate: 40 },
  { name: 'admin.bulk_edit', share: 0.04, rate: 2 },
  { name: 'recommendations', share: 0.6, rate: 10, newest: true }
]

/** mulberry32: small, fast, seeded. */
export function generator (seed: number): () => number {
  let a = seed >>> 0
  return () => {
    a = (a + 0x6d2b79f5) >>> 0
    let t = a
    t = Math.imul(t ^ (t >>> 15), t | 1)
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61)
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296
  }
}

type Record = { requests: number, responses: number, aborted: number, latency: { count: number, sum: number, buckets: number[] }, size: { count: number, sum: number, unknown: number, buckets: number[] }, status: { [code: string]: number } }

function emptyRecord (): Record {
  return { requests: 0, responses: 0, aborted: 0, latency: { count: 0, sum: 0, buckets: Array(14).fill(0) }, size: { count: 0, sum: 0, unknown: 0, buckets: Array(10).fill(0) }, status: {} }
}

function add (into: Record, from: Record): void {
  into.requests += from.requests
  into.responses += from.responses
  into.aborted += from.aborted
  into.latency.count += from.latency.count
  into.latency.sum += from.latency.sum
  into.size.count += from.size.count
  into.size.sum += from.size.sum
  into.size.unknown += from.size.unknown
  from.latency.buckets.forEach((n, i) => { into.latency.buckets[i] += n })
  from.size.buckets.forEach((n, i) => { into.size.buckets[i] += n })
  for (const [code, n] of Object.entries(from.status)) into.status[code] = (into.status[code] ?? 0) + n
}

/** Spreads `n` observations over buckets around `median` (log-normal-ish: a few buckets each side). */
function spread (random: () => number, n: number, median: number, bounds: number[], buckets: number[]): number {
  let sum = 0
  for (let i = 0; i < n; i++) {
    const value = median * Math.exp((random() + random() + random() - 1.5) * 1.6)
    buckets[bounds.findIndex(bound => value <= bound)]++
    sum += value
  }
  return sum
}

interface Cell { endpoint: string, method: string, rate: number, median: number, size: number, errors: number }

class Instance {
  readonly id: string
  readonly paths = new Map<string, Map<string, Record>>()
  /** Counter name -> uses since this instance started, every counter its version declares. */
  readonly features: { [name: string]: number } = {}
  /** Counter name -> uses at its last delivered report. */
  readonly reported: { [name: string]: number } = {}
  uptime = 0
  identified = false
  requests = 0
  delivered = 0
  constructor (readonly version: number, random: () => number, readonly facts: { [name: string]: string }, counters: string[]) {
    this.id = uuid(random)
    for (const name of counters) this.features[name] = this.reported[name] = 0
  }
}

/** The value of `shares` that a draw `u` (0..1) falls on; the last value takes what the others leave. */
function choose (shares: Array<[string, number]>, u: number): string {
  for (const [value, share] of shares.slice(0, -1)) {
    if (u < share) return value
    u -= share
  }
  return shares[shares.length - 1][0]
}

/**
 * The facts and counters delivered reports carried on one day, tallied as the model rolls them up: per version and
 * fact value the installations and instances; per version and counter the installations reporting it, those whose
 * uses since their previous delivered report were above 0, and those uses.
 */
class FeatureTally {
  private readonly facts = new Map<string, { installations: Set<string>, instances: Set<string> }>()
  private readonly counters = new Map<string, { installations: Set<string>, using: Set<string>, uses: number }>()

  /** A delivered report of `instance`: its facts, and its counts since its previous delivered report. */
  add (anonymousId: string, instance: Instance, version: string): void {
    for (const [name, value] of Object.entries(instance.facts)) {
      const key = JSON.stringify([version, name, value])
      const tally = this.facts.get(key) ?? { installations: new Set(), instances: new Set() }
      this.facts.set(key, tally)
      tally.installations.add(anonymousId)
      tally.instances.add(instance.id)
    }
    for (const [name, n] of Object.entries(instance.features)) {
      const key = JSON.stringify([version, name])
      const tally = this.counters.get(key) ?? { installations: new Set(), using: new Set(), uses: 0 }
      this.counters.set(key, tally)
      const uses = n - instance.reported[name]
      instance.reported[name] = n
      tally.installations.add(anonymousId)
      if (uses > 0) tally.using.add(anonymousId)
      tally.uses += uses
    }
  }

  /** The day's rows, added to `summary`; the tally starts again empty. */
  flush (day: string, summary: SimulateSummary): void {
    for (const [key, { installations, instances }] of this.facts) {
      const [version, name, value] = JSON.parse(key)
      summary.facts.push({ day, version, name, value, installations: installations.size, instances: instances.size })
    }
    for (const [key, { installations, using, uses }] of this.counters) {
      const [version, name] = JSON.parse(key)
      summary.features.push({ day, version, name, installations: installations.size, installationsUsing: using.size, uses })
    }
    this.facts.clear()
    this.counters.clear()
  }
}

function uuid (random: () => number): string {
  const hex = Array.from({ length: 32 }, () => Math.floor(random() * 16).toString(16))
  hex[12] = '4'
  hex[16] = '89ab'[Math.floor(random() * 4)]
  const s = hex.join('')
  return `${s.slice(0, 8)}-${s.slice(8, 12)}-${s.slice(12, 16)}-${s.slice(16, 20)}-${s.slice(20)}`
}

/**
 * Writes a seeded, realistic fleet in Segment's S3 layout: per instance per day 96 reports (cumulative counters,
 * some split into parts), 288 keep-alives and an identify at start; versions released every week and adopted with
 * a lag (an upgrade is a restart: a new instance), occasional plain restarts, about 1 % of reports lost and 0.5 %
 * of batches stored twice. Latency, 5xx rate and memory depend on the version (unless `versionEffects` is false), so a
 * release comparison has something to show; `slower` and `errors` inject known effects into the newest version.
 * With schemaVersion 3, part 1 of every report carries the installation's facts (FACTS) and its instance's
 * cumulative counts (FEATURE_COUNTERS), drawn from a random stream of their own so that the traffic of a seed is the
 * same in every format; the summary tallies what the delivered reports carried, as the model must.
 */
export async function simulate (options: SimulateOptions): Promise<SimulateSummary> {
  const { installations, days, out, seed = 1, start = '2026-01-01', schemaVersion = 3, sourceId = 'simulated', slower = {}, errors = {}, versionEffects = true } = options
  const random = generator(seed)
  const newest = Math.min(VERSIONS.length - 1, Math.floor((days - 1) / RELEASE_EVERY_DAYS))
  const effect = (version: number, endpoint: string, builtIn: number[], injected: { [endpoint: string]: number }): number =>
    (versionEffects ? builtIn[version] : 1) * (version === newest ? injected[endpoint] ?? 1 : 1)
  const startMs = Date.parse(`${start}T00:00:00Z`)
  const summary: SimulateSummary = { files: 0, events: 0, bytes: 0, requests: 0, facts: [], features: [] }
  const instances: Instance[] = []
  const withFeatures = schemaVersion === 3
  const pick = generator(seed ^ 0x5eed_f00d)
  const tally = new FeatureTally()
  const fleet = Array.from({ length: installations }, (_, i) => {
    const cells: Cell[] = []
    for (const endpoint of ENDPOINTS) {
      if (random() < 0.4 && endpoint !== '/') continue
      for (const method of random() < 0.3 ? ['GET', 'POST'] : ['GET']) {
        cells.push({ endpoint, method, rate: Math.ceil(random() * 20), median: 5 + random() * 80, size: 200 + random() * 20_000, errors: random() * 0.02 })
      }
    }
    return {
      anonymousId: createHash('sha512').update(`simulated-${seed}-${i}`).digest('hex'),
      phase: Math.floor(random() * REPORT_S),
      lag: Math.floor(random() * 10),
      numCpu: [1, 2, 4, 8][Math.floor(random() * 4)],
      arch: random() < 0.8 ? 'x64' : 'arm64',
      os: random() < 0.9 ? 'linux' : 'darwin',
      runtime: ['v20.19.0', 'v22.12.0', 'v24.1.0'][Math.floor(random() * 3)],
      cells,
      facts: Object.fromEntries(Object.entries(FACTS).map(([name, shares]) => [name, choose(shares, pick())])),
      switchDay: pick() < STORAGE_SWITCH ? Math.floor(pick() * days) : Infinity,
      /** Counter name -> the most uses per report interval, for the counters this installation uses. */
      uses: new Map(FEATURE_COUNTERS.filter(c => pick() < c.share).map(c => [c.name, Math.ceil(pick() * c.rate)])),
      instance: undefined as Instance | undefined
    }
  })

  for (let day = 0; day < days; day++) {
    const dayMs = startMs + day * DAY_MS
    const dir = dayDir(out, sourceId, dayMs)
    await ensureDir(dir)
    const handle = await open(join(dir, `simulated-${seed}.gz`), 'a')
    summary.files++
    const writer = new MemberWriter(handle, summary)
    for (const site of fleet) {
      const latest = Math.min(VERSIONS.length - 1, Math.floor(Math.max(0, day - site.lag) / RELEASE_EVERY_DAYS))
      for (let tick = 0; tick < DAY_MS / 1000 / REPORT_S; tick++) {
        const at = dayMs + (tick * REPORT_S + site.phase) * 1000
        if (site.instance === undefined || site.instance.version < latest || random() < 0.002) {
          if (day >= site.switchDay) site.facts.storage = 'postgres'
          const counters = withFeatures ? FEATURE_COUNTERS.filter(c => c.newest !== true || latest === newest).map(c => c.name) : []
          site.instance = new Instance(latest, random, withFeatures ? { ...site.facts } : {}, counters)
          instances.push(site.instance)
        }
        const instance = site.instance
        const envelope = (): { anonymousId: string, messageId: string, timestamp: string, context: object, _metadata: object, integrations: object } => ({
          anonymousId: site.anonymousId,
          messageId: `node-next-${at}-${uuid(random)}`,
          timestamp: new Date(at).toISOString(),
          context: { ip: '0.0.0.0', library: { name: '@segment/analytics-node', version: '3.1.0' } },
          _metadata: { nodeVersion: site.runtime, jsRuntime: 'node' },
          integrations: {}
        })
        const batch: object[] = []
        if (!instance.identified) {
          instance.identified = true
          batch.push({ type: 'identify', ...envelope(), traits: { instanceId: instance.id, schemaVersion, os: site.os, arch: site.arch, numCpu: site.numCpu, runtimeVersion: site.runtime, version: VERSIONS[instance.version], hash: `h${instance.version}`, buildTime: 'unknown' } })
        }
        for (let k = 0; k < 3; k++) batch.push({ type: 'track', event: 'keep-alive', ...envelope(), properties: { instanceId: instance.id, schemaVersion } })
        instance.uptime += REPORT_S
        for (const cell of site.cells) {
          const interval = emptyRecord()
          const n = Math.floor(random() * cell.rate * 2)
          const aborted = random() < 0.05 ? 1 : 0
          const answered = Math.max(0, n - aborted)
          interval.requests = n
          interval.aborted = n - answered
          interval.responses = answered
          interval.latency.count = answered
          interval.latency.sum = spread(random, answered, cell.median * effect(instance.version, cell.endpoint, VERSION_SPEED, slower), LATENCY_BOUNDS, interval.latency.buckets)
          const unknown = cell.endpoint === '/files' ? answered : 0
          interval.size.unknown = unknown
          interval.size.count = answered - unknown
          interval.size.sum = spread(random, answered - unknown, cell.size, SIZE_BOUNDS, interval.size.buckets)
          // Each response fails with the cell's rate, so that a rate multiplied shows at any traffic.
          const rate = cell.errors * effect(instance.version, cell.endpoint, VERSION_ERRORS, errors)
          let failed = 0
          for (let r = 0; r < answered; r++) if (random() < rate) failed++
          if (failed > 0) interval.status['500'] = failed
          if (answered - failed > 0) interval.status['200'] = answered - failed
          const methods = instance.paths.get(cell.endpoint) ?? new Map<string, Record>()
          instance.paths.set(cell.endpoint, methods)
          const cumulative = methods.get(cell.method) ?? emptyRecord()
          methods.set(cell.method, cumulative)
          add(cumulative, interval)
          instance.requests += n
        }
        for (const name in instance.features) instance.features[name] += Math.floor(pick() * (site.uses.get(name) ?? 0) * 2)
        if (random() >= 0.01) {
          batch.push(...report(instance, schemaVersion, random() < 0.05 ? 2 + Math.floor(random() * 2) : 1, envelope, random, versionEffects ? VERSION_SPEED[instance.version] : 1))
          instance.delivered = instance.requests
          if (withFeatures) tally.add(site.anonymousId, instance, VERSIONS[instance.version])
        }
        const receivedAt = new Date(at + 200).toISOString()
        const lines = batch.map(event => JSON.stringify({ ...event, receivedAt, sentAt: receivedAt }))
        await writer.add(lines)
        if (random() < 0.005) await writer.add(lines)
      }
    }
    await writer.close()
    tally.flush(new Date(dayMs).toISOString().slice(0, 10), summary)
    options.onProgress?.({ day: day + 1, days, events: summary.events })
  }
  summary.requests = instances.reduce((n, instance) => n + instance.delivered, 0)
  return summary
}

/**
 * The report of `instance` in `parts` events. Version 1 deals whole endpoints to parts; version 2 deals
 * (endpoint, method) records, so one endpoint's methods may land in different parts. Part 1 carries the totals,
 * `methods` and `memory` (and from version 3 `facts` and `features`); each endpoint entry carries the totals of the
 * methods in its part.
 */
function report (instance: Instance, schemaVersion: number, parts: number, envelope: () => object, random: () => number, speed: number): object[] {
  const reportId = uuid(random)
  const bodies = Array.from({ length: parts }, () => ({} as { [endpoint: string]: Partial<Record> & { methods: { [method: string]: Record } } }))
  const totals = emptyRecord()
  const methods: { [method: string]: Record } = {}
  let index = 0
  for (const [endpoint, records] of instance.paths) {
    const endpointTotals = emptyRecord()
    let home: number | undefined
    for (const [method, record] of records) {
      const at = (schemaVersion === 1 ? index : index++) % parts
      home ??= at
      ;(bodies[at][endpoint] ??= { methods: {} }).methods[method] = record
      add(endpointTotals, record)
      add(totals, record)
      add(methods[method] ??= emptyRecord(), record)
    }
    // The endpoint's totals travel whole in one part (the one holding its first method).
    Object.assign(bodies[home as number][endpoint], endpointTotals)
    if (schemaVersion === 1) index++
  }
  const rss = Math.round((60 + 20 * speed + instance.uptime / 3600) * 1048576)
  return bodies.map((paths, i) => ({
    type: 'track',
    event: 'telemetry',
    ...envelope(),
    properties: {
      instanceId: instance.id,
      schemaVersion,
      uptime: instance.uptime,
      reportId,
      part: i + 1,
      parts,
      ...(i === 0
        ? {
            ...totals,
            methods,
            memory: { rss, heapTotal: rss / 2, heapUsed: Math.round(rss / 3), external: 1048576, arrayBuffers: 65536, heapSizeLimit: 4345298944, mallocedMemory: 262144, peakMallocedMemory: 1048576, gcCycles: Math.floor(instance.uptime / 60), gcPauseMs: instance.uptime / 100 },
            ...(schemaVersion === 3 ? { facts: instance.facts, features: instance.features } : {})
          }
        : schemaVersion >= 2 ? { methods: {} } : {}),
      paths
    }
  }))
}

/** Gzip members of about 1 MiB of lines appended to one file, as the receiver's group commits make them. */
class MemberWriter {
  private lines: string[] = []
  private bytes = 0
  constructor (private readonly handle: FileHandle, private readonly summary: SimulateSummary) {}

  async add (lines: string[]): Promise<void> {
    for (const line of lines) {
      this.lines.push(line)
      this.bytes += line.length + 1
    }
    this.summary.events += lines.length
    if (this.bytes >= 1048576) await this.flush()
  }

  private async flush (): Promise<void> {
    const text = this.lines.join('\n') + '\n'
    this.summary.bytes += Buffer.byteLength(text)
    await this.handle.write(gzipSync(text, { level: 1 }))
    this.lines = []
    this.bytes = 0
  }

  async close (): Promise<void> {
    if (this.lines.length > 0) await this.flush()
    await this.handle.close()
  }
}
