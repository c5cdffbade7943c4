import type { DuckDBConnection } from '@duckdb/node-api'
import { rows as query } from '../db'
import { createFloor, type Floor } from './floor'
import { formatLatency, LATENCY_BOUNDS_MS, percentile } from './percentiles'
import { ERROR_RATE_ALPHA, ERROR_RATE_Z, errorRateRegressed } from './significance'
import type { Comparison, Distribution, LatencyFigure, Side, Stats } from './stats-types'
import { boundLabel } from './text'
import { orderVersions } from './versions'

type Row = Record<string, unknown>

const num = (value: unknown): number => Number(value)
const str = (value: unknown): string => String(value)
const share = (part: number, whole: number | null): number => whole === null || whole === 0 ? 0 : part / whole

/** Everything the page shows, read from the contract's tables and put through the privacy floor. */
export async function buildStats (connection: DuckDBConnection, minInstallations: number, now = new Date()): Promise<Stats> {
  const floor = createFloor(minInstallations)
  const [fleet] = await query(connection, `SELECT count(DISTINCT anonymous_id) AS installations, count(DISTINCT instance_id) AS instances,
    min(day)::VARCHAR AS first, max(day)::VARCHAR AS last FROM activity`)
  const installations = floor.count(num(fleet.installations))
  const [traffic] = await query(connection, 'SELECT coalesce(sum(requests), 0) AS requests FROM installation_traffic')
  const versions = await versionsOf(connection, floor)
  const newest = new Map(versions.all.map((v, i) => [v.version, i]))
  return {
    schema: 'fastify-anonymous-telemetry-collector/stats',
    schemaVersion: 1,
    generatedAt: now.toISOString(),
    minInstallations,
    period: { from: fleet.first as string | null, to: fleet.last as string | null },
    fleet: { installations, instances: floor.when(num(fleet.installations), num(fleet.instances)), requests: floor.when(num(fleet.installations), num(traffic.requests)) },
    activity: (await query(connection, `SELECT day::VARCHAR AS day, count(DISTINCT anonymous_id) AS installations,
      count(DISTINCT instance_id) AS instances FROM activity GROUP BY day ORDER BY day`))
      .map(r => ({ day: str(r.day), installations: floor.count(num(r.installations)), instances: floor.when(num(r.installations), num(r.instances)) })),
    versions: { rows: versions.published, belowFloor: versions.all.length - versions.shown.length },
    adoption: await adoptionOf(connection, floor, newest, versions.shown.map(v => v.version)),
    platform: {
      os: await distributionOf(connection, floor, 'os'),
      arch: await distributionOf(connection, floor, 'arch'),
      runtimeVersion: await distributionOf(connection, floor, 'runtime_version'),
      numCpu: await distributionOf(connection, floor, 'num_cpu')
    },
    endpoints: await endpointsOf(connection, floor, installations),
    comparison: await comparisonOf(connection, floor, versions.shown.map(v => v.version)),
    memory: await memoryOf(connection, floor, versions.shown.map(v => v.version))
  }
}

async function versionsOf (connection: DuckDBConnection, floor: Floor) {
  const all = orderVersions((await query(connection, `SELECT version, count(DISTINCT anonymous_id) AS installations,
    min(day)::VARCHAR AS "firstDay" FROM activity GROUP BY version`))
    .map(r => ({ version: str(r.version), installations: num(r.installations), firstDay: str(r.firstDay) })))
  const shown = floor.rows(all).rows
  return { all, shown, published: shown.map(v => ({ ...v, version: boundLabel(v.version) })) }
}

// An installation that ran two versions in a day counts once that day, for the newer one.
async function adoptionOf (connection: DuckDBConnection, floor: Floor, order: Map<string, number>, shown: string[]): Promise<Stats['adoption']> {
  const days = new Map<string, Map<string, number>>()
  for (const r of await query(connection, `SELECT day::VARCHAR AS day, list(DISTINCT version) AS versions
      FROM activity GROUP BY day, anonymous_id ORDER BY day`)) {
    const counts = days.get(str(r.day)) ?? new Map<string, number>()
    days.set(str(r.day), counts)
    const version = (r.versions as string[]).reduce((a, b) => (order.get(a) as number) > (order.get(b) as number) ? a : b)
    counts.set(version, (counts.get(version) ?? 0) + 1)
  }
  return [...days].map(([day, counts]) => {
    const total = [...counts.values()].reduce((a, b) => a + b, 0)
    return {
      day,
      installations: floor.count(total),
      shares: shown.map(version => {
        // A day below the floor publishes no share at all, not even of a large version.
        const n = total >= floor.k ? counts.get(version) ?? 0 : 0
        return { version: boundLabel(version), installations: floor.count(n), share: floor.when(n, n / total) }
      })
    }
  })
}

async function distributionOf (connection: DuckDBConnection, floor: Floor, column: string): Promise<Distribution> {
  const [total] = await query(connection, 'SELECT count(DISTINCT anonymous_id) AS n FROM instances')
  const installations = floor.count(num(total.n))
  const rows = (await query(connection, `SELECT coalesce(${column}::VARCHAR, 'unknown') AS value, count(DISTINCT anonymous_id) AS installations
    FROM instances GROUP BY ALL ORDER BY installations DESC, value`))
    .map(r => ({ value: boundLabel(str(r.value)), installations: num(r.installations), share: share(num(r.installations), num(total.n)) }))
  return { installations, ...floor.rows(rows) }
}

async function endpointsOf (connection: DuckDBConnection, floor: Floor, installations: number | null): Promise<Stats['endpoints']> {
  const usage = (await query(connection, `SELECT endpoint, count(DISTINCT anonymous_id) AS installations, sum(requests) AS requests
    FROM installation_traffic WHERE requests > 0 GROUP BY endpoint ORDER BY installations DESC, endpoint`))
    .map(r => ({ endpoint: boundLabel(str(r.endpoint)), installations: num(r.installations), share: share(num(r.installations), installations), requests: num(r.requests) }))
  const [all] = await query(connection, 'SELECT coalesce(sum(requests), 0) AS requests FROM installation_traffic')
  const methods = (await query(connection, `SELECT method, count(DISTINCT anonymous_id) AS installations, sum(requests) AS requests
    FROM installation_traffic WHERE requests > 0 GROUP BY method ORDER BY requests DESC, method`))
    .map(r => ({ method: boundLabel(str(r.method)), installations: num(r.installations), requests: num(r.requests), share: share(num(r.requests), num(all.requests)) }))
  return {
    usage: floor.rows(usage),
    requestsPerDay: (await query(connection, `SELECT day::VARCHAR AS day, count(DISTINCT anonymous_id) AS installations, sum(requests) AS requests
      FROM daily_instance_traffic GROUP BY day ORDER BY day`))
      .map(r => ({ day: str(r.day), installations: floor.count(num(r.installations)), requests: floor.when(num(r.installations), num(r.requests)) })),
    methods: floor.rows(methods)
  }
}

const BUCKET_SUMS = LATENCY_BOUNDS_MS.concat([Infinity]).map((_, i) => `sum(latency_buckets[${i + 1}])`).join(', ')

function latency (buckets: number[], p: number): LatencyFigure | null {
  const value = percentile(buckets, p)
  return value === null ? null : { ...value, display: formatLatency(value) }
}

function sideOf (r: Row): Side & { installations: number } {
  const buckets = (r.buckets as string[]).map(Number)
  const responses = num(r.responses)
  return {
    installations: num(r.installations),
    requests: num(r.requests),
    responses,
    errors5xx: num(r.errors),
    errorRate: num(r.errors) / responses,
    p50: latency(buckets, 0.5),
    p95: latency(buckets, 0.95),
    p99: latency(buckets, 0.99)
  }
}

const higherBucket = (a: LatencyFigure | null, b: LatencyFigure | null): boolean => a !== null && b !== null && a.bucket > b.bucket

/** Latest against previous (the two newest versions above the floor), per endpoint × method. */
async function comparisonOf (connection: DuckDBConnection, floor: Floor, shown: string[]): Promise<Comparison> {
  const latest = shown.at(-1) ?? null
  const previous = shown.at(-2) ?? null
  const rule = {
    percentile: 'regression when the latest version\'s percentile falls in a higher histogram bucket than the previous version\'s',
    errorRate: 'regression when the latest version\'s 5xx rate is higher by a one-sided pooled two-proportion z-test at level alpha',
    alpha: ERROR_RATE_ALPHA,
    z: ERROR_RATE_Z
  }
  const sides = new Map<string, { latest?: Side, previous?: Side }>()
  let total = 0
  if (latest !== null) {
    const rows = await query(connection, `SELECT version, endpoint, method, count(DISTINCT anonymous_id) AS installations,
      sum(requests) AS requests, sum(responses) AS responses, sum(errors_5xx) AS errors, [${BUCKET_SUMS}] AS buckets
      FROM installation_traffic WHERE responses > 0 AND version IN ($1, $2) GROUP BY ALL ORDER BY endpoint, method`, [latest, previous ?? latest])
    for (const r of rows) {
      const key = JSON.stringify([str(r.endpoint), str(r.method)])
      const entry = sides.get(key) ?? {}
      sides.set(key, entry)
      entry[r.version === latest ? 'latest' : 'previous'] = sideOf(r)
    }
    total = sides.size
  }
  const out: Comparison['rows'] = []
  for (const [key, side] of sides) {
    const [endpoint, method] = JSON.parse(key) as [string, string]
    const l = side.latest !== undefined && side.latest.installations >= floor.k ? side.latest : null
    const p = side.previous !== undefined && side.previous.installations >= floor.k ? side.previous : null
    // A side above the floor means at least k installations used the endpoint: its label may show.
    if (l === null && p === null) continue
    out.push({
      endpoint: boundLabel(endpoint),
      method: boundLabel(method),
      latest: l,
      previous: p,
      regression: {
        p50: higherBucket(l?.p50 ?? null, p?.p50 ?? null),
        p95: higherBucket(l?.p95 ?? null, p?.p95 ?? null),
        p99: higherBucket(l?.p99 ?? null, p?.p99 ?? null),
        errorRate: l !== null && p !== null && errorRateRegressed(l.errors5xx, l.responses, p.errors5xx, p.responses)
      }
    })
  }
  return { latest: latest === null ? null : boundLabel(latest), previous: previous === null ? null : boundLabel(previous), rule, rows: out, belowFloor: total - out.length }
}

// Each installation weighs the same: its median over its reports first, then quantiles across installations.
async function memoryOf (connection: DuckDBConnection, floor: Floor, shown: string[]): Promise<Stats['memory']> {
  const rows = (await query(connection, `WITH per AS (SELECT version, anonymous_id, median(rss) AS rss, median(heap_used) AS heap
      FROM memory_by_version WHERE rss IS NOT NULL AND heap_used IS NOT NULL GROUP BY ALL)
    SELECT version, count(*) AS installations, quantile_cont(rss, 0.5) AS rss50, quantile_cont(rss, 0.95) AS rss95,
      quantile_cont(heap, 0.5) AS heap50, quantile_cont(heap, 0.95) AS heap95 FROM per GROUP BY version`))
  const byVersion = new Map(rows.map(r => [str(r.version), r]))
  const all = shown.filter(v => byVersion.has(v)).map(version => {
    const r = byVersion.get(version) as Row
    return {
      version: boundLabel(version),
      installations: num(r.installations),
      rss: { p50: Math.round(num(r.rss50)), p95: Math.round(num(r.rss95)) },
      heapUsed: { p50: Math.round(num(r.heap50)), p95: Math.round(num(r.heap95)) }
    }
  })
  const kept = floor.rows(all)
  return { rows: kept.rows, belowFloor: kept.belowFloor + rows.length - all.length }
}
