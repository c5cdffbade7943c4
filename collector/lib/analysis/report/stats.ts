import type { DuckDBConnection } from '@duckdb/node-api'
import { rows as query } from '../db'
import { featuresOf } from './features'
import { createFloor, type Floor } from './floor'
import { formatLatency, LATENCY_BOUNDS_MS, percentile } from './percentiles'
import { compareRows, MEASURES, type InstallationFigures } from './release-rule'
import type { Comparison, ComparisonRow, Distribution, LatencyFigure, Measure, RowRef, Side, Stats } from './stats-types'
import { boundLabel } from './text'
import { orderVersions } from './versions'
import { inWindow, type Window } from './window'

type Row = Record<string, unknown>

const num = (value: unknown): number => Number(value)
const str = (value: unknown): string => String(value)
const share = (part: number, whole: number | null): number => whole === null || whole === 0 ? 0 : part / whole

export interface StatsOptions {
  /** The privacy floor k. */
  minInstallations: number
  /** The project's name, for the page's heading (null: none given). */
  title?: string | null
  /** Only the last `days` UTC days up to the newest one with activity (default: all). */
  days?: number | null
  now?: Date
}

const DAY_MS = 86_400_000

/** Everything the page shows, read from the contract's tables over the window and put through the privacy floor. */
export async function buildStats (connection: DuckDBConnection, options: StatsOptions): Promise<Stats> {
  const { minInstallations, now = new Date() } = options
  const floor = createFloor(minInstallations)
  const [span] = await query(connection, 'SELECT min(day)::VARCHAR AS first, max(day)::VARCHAR AS last FROM activity')
  const last = span.last as string | null
  const days = options.days ?? null
  // No activity: a window that holds no day, so that every query runs the same and finds nothing.
  const window: Window = last === null
    ? { from: '1970-01-02', to: '1970-01-01' }
    : { from: days === null ? str(span.first) : maxDay(str(span.first), new Date(Date.parse(last) - (days - 1) * DAY_MS).toISOString().slice(0, 10)), to: last }
  const within = inWindow(window)
  const [fleet] = await query(connection, `SELECT count(DISTINCT anonymous_id) AS installations, count(DISTINCT instance_id) AS instances
    FROM activity WHERE ${within}`)
  const installations = floor.count(num(fleet.installations))
  const [traffic] = await query(connection, `SELECT coalesce(sum(requests), 0) AS requests FROM daily_instance_traffic WHERE ${within}`)
  const versions = await versionsOf(connection, floor, window)
  const newest = new Map(versions.all.map((v, i) => [v.version, i]))
  return {
    schema: 'fastify-anonymous-telemetry-collector/stats',
    schemaVersion: 2,
    generatedAt: now.toISOString(),
    title: options.title ?? null,
    minInstallations,
    period: last === null ? { from: null, to: null, days } : { ...window, days },
    fleet: { installations, instances: floor.when(num(fleet.installations), num(fleet.instances)), requests: floor.when(num(fleet.installations), num(traffic.requests)) },
    activity: (await query(connection, `SELECT day::VARCHAR AS day, count(DISTINCT anonymous_id) AS installations,
      count(DISTINCT instance_id) AS instances FROM activity WHERE ${within} GROUP BY day ORDER BY day`))
      .map(r => ({ day: str(r.day), installations: floor.count(num(r.installations)), instances: floor.when(num(r.installations), num(r.instances)) })),
    versions: { rows: versions.published, belowFloor: versions.all.length - versions.shown.length },
    adoption: await adoptionOf(connection, floor, window, newest, versions.shown.map(v => v.version)),
    platform: {
      os: await distributionOf(connection, floor, window, 'os'),
      arch: await distributionOf(connection, floor, window, 'arch'),
      runtimeVersion: await distributionOf(connection, floor, window, 'runtime_version'),
      numCpu: await distributionOf(connection, floor, window, 'num_cpu')
    },
    endpoints: await endpointsOf(connection, floor, window, installations),
    comparison: await comparisonOf(connection, floor, versions.shown.map(v => v.version), window),
    features: await featuresOf(connection, floor, window, versions.shown.map(v => v.version)),
    memory: await memoryOf(connection, floor, window, versions.shown.map(v => v.version))
  }
}

const maxDay = (a: string, b: string): string => a > b ? a : b

async function versionsOf (connection: DuckDBConnection, floor: Floor, window: Window) {
  const all = orderVersions((await query(connection, `SELECT version, count(DISTINCT anonymous_id) AS installations,
    min(day)::VARCHAR AS "firstDay" FROM activity WHERE ${inWindow(window)} GROUP BY version`))
    .map(r => ({ version: str(r.version), installations: num(r.installations), firstDay: str(r.firstDay) })))
  const shown = floor.rows(all).rows
  return { all, shown, published: shown.map(v => ({ ...v, version: boundLabel(v.version) })) }
}

/**
 * Per day, each published version's share of the active installations; a version with fewer than k installations
 * that day (or none) goes into `other`, so that a day's shares add up to 1. `other` is the rest of the day (its
 * total minus the published counts): its share tells nothing that the published figures do not.
 * An installation that ran two versions in a day counts once that day, for the newer one.
 */
async function adoptionOf (connection: DuckDBConnection, floor: Floor, window: Window, order: Map<string, number>, shown: string[]): Promise<Stats['adoption']> {
  const days = new Map<string, Map<string, number>>()
  for (const r of await query(connection, `SELECT day::VARCHAR AS day, list(DISTINCT version) AS versions
      FROM activity WHERE ${inWindow(window)} GROUP BY day, anonymous_id ORDER BY day`)) {
    const counts = days.get(str(r.day)) ?? new Map<string, number>()
    days.set(str(r.day), counts)
    const version = (r.versions as string[]).reduce((a, b) => (order.get(a) as number) > (order.get(b) as number) ? a : b)
    counts.set(version, (counts.get(version) ?? 0) + 1)
  }
  return [...days].map(([day, counts]) => {
    const total = [...counts.values()].reduce((a, b) => a + b, 0)
    // A day below the floor publishes no share at all, not even of a large version.
    const published = shown.map(version => total >= floor.k ? counts.get(version) ?? 0 : 0)
    const rest = total - published.reduce((sum, n) => sum + (n >= floor.k ? n : 0), 0)
    return {
      day,
      installations: floor.count(total),
      shares: shown.map((version, i) => ({ version: boundLabel(version), installations: floor.count(published[i]), share: floor.when(published[i], published[i] / total) })),
      other: { installations: floor.count(rest), share: floor.when(total, rest / total) }
    }
  })
}

async function distributionOf (connection: DuckDBConnection, floor: Floor, window: Window, column: string): Promise<Distribution> {
  // An instance counts when its first and last days overlap the window.
  const overlaps = `first_day <= DATE '${window.to}' AND last_day >= DATE '${window.from}'`
  const [total] = await query(connection, `SELECT count(DISTINCT anonymous_id) AS n FROM instances WHERE ${overlaps}`)
  const installations = floor.count(num(total.n))
  const rows = (await query(connection, `SELECT coalesce(${column}::VARCHAR, 'unknown') AS value, count(DISTINCT anonymous_id) AS installations
    FROM instances WHERE ${overlaps} GROUP BY ALL ORDER BY installations DESC, value`))
    .map(r => ({ value: boundLabel(str(r.value)), installations: num(r.installations), share: share(num(r.installations), num(total.n)) }))
  return { installations, ...floor.rows(rows) }
}

async function endpointsOf (connection: DuckDBConnection, floor: Floor, window: Window, installations: number | null): Promise<Stats['endpoints']> {
  const within = inWindow(window)
  const usage = (await query(connection, `SELECT endpoint, count(DISTINCT anonymous_id) AS installations, sum(requests) AS requests
    FROM daily_instance_traffic WHERE requests > 0 AND ${within} GROUP BY endpoint ORDER BY installations DESC, endpoint`))
    .map(r => ({ endpoint: boundLabel(str(r.endpoint)), installations: num(r.installations), share: share(num(r.installations), installations), requests: num(r.requests) }))
  const [all] = await query(connection, `SELECT coalesce(sum(requests), 0) AS requests FROM daily_instance_traffic WHERE ${within}`)
  const methods = (await query(connection, `SELECT method, count(DISTINCT anonymous_id) AS installations, sum(requests) AS requests
    FROM daily_instance_traffic WHERE requests > 0 AND ${within} GROUP BY method ORDER BY requests DESC, method`))
    .map(r => ({ method: boundLabel(str(r.method)), installations: num(r.installations), requests: num(r.requests), share: share(num(r.requests), num(all.requests)) }))
  return {
    usage: floor.rows(usage),
    requestsPerDay: (await query(connection, `SELECT day::VARCHAR AS day, count(DISTINCT anonymous_id) AS installations, sum(requests) AS requests
      FROM daily_instance_traffic WHERE ${within} GROUP BY day ORDER BY day`))
      .map(r => ({ day: str(r.day), installations: floor.count(num(r.installations)), requests: floor.when(num(r.installations), num(r.requests)) })),
    methods: floor.rows(methods)
  }
}

const BUCKET_SUMS = LATENCY_BOUNDS_MS.concat([Infinity]).map((_, i) => `sum(latency_buckets[${i + 1}])`).join(', ')
const ERRORS_5XX = "coalesce(list_sum([e.value FOR e IN map_entries(status) IF e.key LIKE '5__']), 0)"
const LATENCY: Measure[] = ['p50', 'p95', 'p99']
// The open top bucket (> 10 s) has no upper bound: an installation's percentile there counts as its lower bound.
const OPEN_BUCKET_MS = LATENCY_BOUNDS_MS[LATENCY_BOUNDS_MS.length - 1]

function latency (buckets: number[], p: number): LatencyFigure | null {
  const value = percentile(buckets, p)
  return value === null ? null : { ...value, display: formatLatency(value) }
}

/** One installation's traffic on an endpoint × method in one version, its days merged. */
interface Traffic { requests: number, responses: number, errors: number, buckets: number[] }

function sideOf (installations: Traffic[]): Side {
  const buckets = installations.reduce((a, t) => a.map((n, i) => n + t.buckets[i]), new Array<number>(LATENCY_BOUNDS_MS.length + 1).fill(0))
  const sum = (key: 'requests' | 'responses' | 'errors'): number => installations.reduce((a, t) => a + t[key], 0)
  return {
    installations: installations.length,
    requests: sum('requests'),
    responses: sum('responses'),
    errors5xx: sum('errors'),
    errorRate: sum('errors') / sum('responses'),
    p50: latency(buckets, 0.5),
    p95: latency(buckets, 0.95),
    p99: latency(buckets, 0.99)
  }
}

function figuresOf (t: Traffic): InstallationFigures {
  const at = (p: number): number | null => {
    const value = percentile(t.buckets, p)
    return value === null ? null : value.ms ?? OPEN_BUCKET_MS
  }
  return { responses: t.responses, p50: at(0.5), p95: at(0.95), p99: at(0.99), errorRate: t.errors / t.responses }
}

/**
 * Latest against previous (the two newest versions above the floor), per endpoint × method, from each
 * installation's own traffic over the window's days: the pooled figures of each side, and each measure under the
 * release rule (release-rule.ts).
 */
async function comparisonOf (connection: DuckDBConnection, floor: Floor, versions: string[], window: Window): Promise<Comparison> {
  const latest = versions.at(-1) ?? null
  const previous = versions.at(-2) ?? null
  const sides = new Map<string, { latest: Map<string, Traffic>, previous: Map<string, Traffic> }>()
  if (latest !== null) {
    const rows = await query(connection, `SELECT version, endpoint, method, anonymous_id, sum(requests) AS requests, sum(responses) AS responses,
      sum(${ERRORS_5XX}) AS errors, [${BUCKET_SUMS}] AS buckets
      FROM daily_instance_traffic WHERE version IN ($1, $2) AND ${inWindow(window)} GROUP BY ALL HAVING sum(responses) > 0
      ORDER BY endpoint, method, anonymous_id`, [latest, previous ?? latest])
    for (const r of rows) {
      const key = JSON.stringify([str(r.endpoint), str(r.method)])
      const entry = sides.get(key) ?? { latest: new Map(), previous: new Map() }
      sides.set(key, entry)
      entry[r.version === latest ? 'latest' : 'previous'].set(str(r.anonymous_id), {
        requests: num(r.requests), responses: num(r.responses), errors: num(r.errors), buckets: (r.buckets as string[]).map(Number)
      })
    }
  }
  const published: Array<Omit<ComparisonRow, 'regression' | 'improvement' | 'measures'> & { figures: Record<'latest' | 'previous', Map<string, InstallationFigures>> }> = []
  for (const [key, side] of sides) {
    const [endpoint, method] = JSON.parse(key) as [string, string]
    const l = side.latest.size >= floor.k ? sideOf([...side.latest.values()]) : null
    const p = side.previous.size >= floor.k ? sideOf([...side.previous.values()]) : null
    // A side above the floor means at least k installations used the endpoint: its label may show.
    if (l === null && p === null) continue
    const figures = (m: Map<string, Traffic>): Map<string, InstallationFigures> => new Map([...m].map(([id, t]) => [id, figuresOf(t)]))
    published.push({ endpoint: boundLabel(endpoint), method: boundLabel(method), latest: l, previous: p, figures: { latest: figures(side.latest), previous: figures(side.previous) } })
  }
  const { rule, rows: verdicts } = compareRows(published.map(r => r.figures), floor.k)
  const out: ComparisonRow[] = published.map(({ figures, ...row }, i) => ({ ...row, ...verdicts[i] }))
  const marked = (r: ComparisonRow, which: 'regression' | 'improvement'): boolean => MEASURES.some(m => r[which][m])
  const rank = (r: ComparisonRow): number => marked(r, 'regression') ? 0 : marked(r, 'improvement') ? 1 : 2
  // Rows came ordered by endpoint, method; a stable sort keeps that order inside each group.
  out.sort((a, b) => rank(a) - rank(b))
  const ref = (r: ComparisonRow): RowRef => ({ endpoint: r.endpoint, method: r.method })
  const slower = (r: ComparisonRow): boolean => LATENCY.some(m => r.regression[m])
  return {
    latest: latest === null ? null : boundLabel(latest),
    previous: previous === null ? null : boundLabel(previous),
    rule,
    summary: {
      slower: out.filter(slower).map(ref),
      moreErrors: out.filter(r => r.regression.errorRate).map(ref),
      faster: out.filter(r => !slower(r) && LATENCY.some(m => r.improvement[m])).map(ref),
      fewerErrors: out.filter(r => r.improvement.errorRate).map(ref)
    },
    rows: out,
    belowFloor: sides.size - out.length
  }
}

// Each installation weighs the same: its median over its reports first, then quantiles across installations.
async function memoryOf (connection: DuckDBConnection, floor: Floor, window: Window, shown: string[]): Promise<Stats['memory']> {
  const rows = (await query(connection, `WITH per AS (SELECT version, anonymous_id, median(rss) AS rss, median(heap_used) AS heap
      FROM memory_by_version WHERE rss IS NOT NULL AND heap_used IS NOT NULL AND ${inWindow(window)} GROUP BY ALL)
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
