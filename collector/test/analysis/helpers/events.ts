import { createHash, randomUUID } from 'node:crypto'
import { appendFileSync, mkdirSync } from 'node:fs'
import { join } from 'node:path'
import { gzipSync } from 'node:zlib'

// Hand-built plugin events with known traffic: each test counts what it sends and asserts the model's totals.

type Metrics = { requests: number, responses: number, aborted: number, latency: { count: number, sum: number, buckets: number[] }, size: { count: number, sum: number, unknown: number, buckets: number[] }, status: Record<string, number> }

function empty (): Metrics {
  return { requests: 0, responses: 0, aborted: 0, latency: { count: 0, sum: 0, buckets: Array(14).fill(0) }, size: { count: 0, sum: 0, unknown: 0, buckets: Array(10).fill(0) }, status: {} }
}

export function anonymousId (name: string): string {
  return createHash('sha512').update(name).digest('hex')
}

const context = { ip: '0.0.0.0', library: { name: '@segment/analytics-node', version: '3.1.0' } }

function envelope (anonymous: string): Record<string, unknown> {
  return { anonymousId: anonymous, context, messageId: `node-next-${Date.now()}-${randomUUID()}`, timestamp: new Date().toISOString(), _metadata: { nodeVersion: 'v20.19.0', jsRuntime: 'node' }, integrations: {} }
}

/** One running instance of an app: cumulative counters, as the plugin keeps them. */
export class App {
  readonly instanceId = randomUUID()
  uptime = 0
  private readonly paths = new Map<string, Map<string, Metrics>>()
  private readonly facts: Record<string, string> = {}
  private readonly features: Record<string, number> = {}
  constructor (readonly anonymousId: string, readonly version: string, readonly schemaVersion = 2) {}

  /** `n` requests to endpoint/method answered with `status` in latency bucket `bucket` (0-based), `aborted` of them aborted. */
  serve (endpoint: string, method: string, n: number, { status = 200, bucket = 3, aborted = 0 } = {}): this {
    const methods = this.paths.get(endpoint) ?? new Map<string, Metrics>()
    this.paths.set(endpoint, methods)
    const m = methods.get(method) ?? empty()
    methods.set(method, m)
    const answered = n - aborted
    m.requests += n
    m.aborted += aborted
    m.responses += answered
    if (answered > 0) m.status[String(status)] = (m.status[String(status)] ?? 0) + answered
    m.latency.count += answered
    m.latency.sum += answered * 7
    m.latency.buckets[bucket] += answered
    m.size.count += answered
    m.size.sum += answered * 100
    m.size.buckets[1] += answered
    return this
  }

  /** Sets a fact (sent from schemaVersion 3 on). */
  fact (name: string, value: string): this {
    this.facts[name] = value
    return this
  }

  /** Counts `n` uses of a feature (sent from schemaVersion 3 on, cumulative). */
  use (name: string, n = 1): this {
    this.features[name] = (this.features[name] ?? 0) + n
    return this
  }

  identify (): Record<string, unknown> {
    return { type: 'identify', ...envelope(this.anonymousId), traits: { instanceId: this.instanceId, schemaVersion: this.schemaVersion, os: 'linux', arch: 'x64', numCpu: 2, runtimeVersion: 'v20.19.0', version: this.version, hash: 'abc', buildTime: 'unknown' } }
  }

  keepAlive (): Record<string, unknown> {
    return { type: 'track', event: 'keep-alive', ...envelope(this.anonymousId), properties: { instanceId: this.instanceId, schemaVersion: this.schemaVersion } }
  }

  /**
   * The current report (uptime advanced by 900 s) in `parts` events: schemaVersion 1 deals whole endpoints to
   * parts, schemaVersion 2 deals (endpoint, method) records, so one endpoint's methods can land in different parts.
   */
  report (parts = 1): Array<Record<string, unknown>> {
    this.uptime += 900
    const reportId = randomUUID()
    const cells: Array<[string, string, Metrics]> = []
    for (const [endpoint, methods] of this.paths) for (const [method, m] of methods) cells.push([endpoint, method, m])
    const bodies = Array.from({ length: parts }, () => ({} as Record<string, { methods: Record<string, Metrics> } & Metrics>))
    const endpoints = [...this.paths.keys()]
    cells.forEach(([endpoint, method, m], index) => {
      const body = bodies[this.schemaVersion === 1 ? endpoints.indexOf(endpoint) % parts : index % parts]
      body[endpoint] ??= { ...empty(), methods: {} }
      body[endpoint].methods[method] = structuredClone(m)
      body[endpoint].requests += m.requests
    })
    return bodies.map((paths, index) => ({
      type: 'track',
      event: 'telemetry',
      ...envelope(this.anonymousId),
      properties: {
        instanceId: this.instanceId,
        schemaVersion: this.schemaVersion,
        uptime: this.uptime,
        reportId,
        part: index + 1,
        parts,
        ...(index === 0 ? { memory: { rss: 100 + this.uptime, heapUsed: 50 } } : {}),
        ...(index === 0 && this.schemaVersion >= 3 ? { facts: { ...this.facts }, features: { ...this.features } } : {}),
        paths
      }
    }))
  }
}

/** A stored line: the event plus `receivedAt`/`sentAt`, as the receiver writes it. */
export function stored (event: Record<string, unknown>, receivedAt: string, extra: Record<string, unknown> = {}): string {
  return JSON.stringify({ ...event, ...extra, receivedAt, sentAt: receivedAt })
}

/** Appends one gzip member of `lines` to `<dir>/segment-logs/<source>/<UTC midnight of day>/<name>`; returns the file. */
export function append (dir: string, day: string, lines: string[], { source = 'src', name = 'a.gz' } = {}): string {
  const folder = join(dir, 'segment-logs', source, String(Date.parse(`${day}T00:00:00Z`)))
  mkdirSync(folder, { recursive: true })
  const file = join(folder, name)
  appendFileSync(file, gzipSync(lines.join('\n') + '\n'))
  return file
}
