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
  /** Event format (default 2: an endpoint's methods may be spread over the parts of a report). */
  schemaVersion?: 1 | 2
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
}

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
  uptime = 0
  identified = false
  requests = 0
  delivered = 0
  constructor (readonly version: number, random: () => number) {
    this.id = uuid(random)
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
 */
export async function simulate (options: SimulateOptions): Promise<SimulateSummary> {
  const { installations, days, out, seed = 1, start = '2026-01-01', schemaVersion = 2, sourceId = 'simulated', slower = {}, errors = {}, versionEffects = true } = options
  const random = generator(seed)
  const newest = Math.min(VERSIONS.length - 1, Math.floor((days - 1) / RELEASE_EVERY_DAYS))
  const effect = (version: number, endpoint: string, builtIn: number[], injected: { [endpoint: string]: number }): number =>
    (versionEffects ? builtIn[version] : 1) * (version === newest ? injected[endpoint] ?? 1 : 1)
  const startMs = Date.parse(`${start}T00:00:00Z`)
  const summary: SimulateSummary = { files: 0, events: 0, bytes: 0, requests: 0 }
  const instances: Instance[] = []
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
          site.instance = new Instance(latest, random)
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
        if (random() >= 0.01) {
          batch.push(...report(instance, schemaVersion, random() < 0.05 ? 2 + Math.floor(random() * 2) : 1, envelope, random, versionEffects ? VERSION_SPEED[instance.version] : 1))
          instance.delivered = instance.requests
        }
        const receivedAt = new Date(at + 200).toISOString()
        const lines = batch.map(event => JSON.stringify({ ...event, receivedAt, sentAt: receivedAt }))
        await writer.add(lines)
        if (random() < 0.005) await writer.add(lines)
      }
    }
    await writer.close()
    options.onProgress?.({ day: day + 1, days, events: summary.events })
  }
  summary.requests = instances.reduce((n, instance) => n + instance.delivered, 0)
  return summary
}

/**
 * The report of `instance` in `parts` events. Version 1 deals whole endpoints to parts; version 2 deals
 * (endpoint, method) records, so one endpoint's methods may land in different parts. Part 1 carries the totals,
 * `methods` and `memory`; each endpoint entry carries the totals of the methods in its part.
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
            memory: { rss, heapTotal: rss / 2, heapUsed: Math.round(rss / 3), external: 1048576, arrayBuffers: 65536, heapSizeLimit: 4345298944, mallocedMemory: 262144, peakMallocedMemory: 1048576, gcCycles: Math.floor(instance.uptime / 60), gcPauseMs: instance.uptime / 100 }
          }
        : schemaVersion === 2 ? { methods: {} } : {}),
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
