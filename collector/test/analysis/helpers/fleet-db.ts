// Test databases in the DuckDB contract (notes: FLEET-TABLES), written with SQL INSERTs of known data, so that
// the report is tested against figures computed by hand. The roll-ups are derived here the way the contract
// defines them.
import { DuckDBInstance } from '@duckdb/node-api'
import { MODEL_VERSION } from '../../../lib/analysis/model'

export interface InstanceSpec {
  instanceId: string
  anonymousId: string
  version: string
  os?: string
  arch?: string
  numCpu?: number
  runtimeVersion?: string
  /** UTC days with any event of this instance. */
  days: string[]
}
export interface TrafficSpec { endpoint: string, method: string, requests: number, responses?: number, aborted?: number, status?: Record<string, number>, latency?: number[] }
/** `facts`: the report's facts (name → value); `uses`: each counter's uses since the instance's previous report. */
export interface ReportSpec { reportId: string, instanceId: string, day: string, rss?: number, heapUsed?: number, traffic: TrafficSpec[], facts?: Record<string, string>, uses?: Record<string, number> }
export interface FleetSpec { instances: InstanceSpec[], reports: ReportSpec[] }

const q = (value: string): string => `'${value.replace(/'/g, "''")}'`
const list = (values: number[]): string => `[${values.join(', ')}]::BIGINT[]`
const map = (status: Record<string, number>): string =>
  Object.keys(status).length === 0 ? 'MAP {}::MAP(VARCHAR, BIGINT)' : `MAP {${Object.entries(status).map(([k, v]) => `${q(k)}: ${v}`).join(', ')}}::MAP(VARCHAR, BIGINT)`

/** Latency buckets with `count` samples in bucket `index`. */
export function bucketsWith (...cells: Array<[index: number, count: number]>): number[] {
  const buckets = new Array<number>(14).fill(0)
  for (const [i, n] of cells) buckets[i] += n
  return buckets
}

export async function createFleetDb (path: string, fleet: FleetSpec): Promise<void> {
  const db = await DuckDBInstance.create(path)
  const c = await db.connect()
  const run = async (sql: string): Promise<void> => { await c.run(sql) }
  await run(`CREATE TABLE events (message_id VARCHAR PRIMARY KEY, source_id VARCHAR, kind VARCHAR, anonymous_id VARCHAR, instance_id VARCHAR,
    schema_version INTEGER, received_at TIMESTAMP, day DATE, properties JSON)`)
  await run('CREATE TABLE instances (instance_id VARCHAR PRIMARY KEY, anonymous_id VARCHAR, version VARCHAR, hash VARCHAR, os VARCHAR, arch VARCHAR, num_cpu INTEGER, runtime_version VARCHAR, first_day DATE, last_day DATE)')
  await run('CREATE TABLE activity (day DATE, anonymous_id VARCHAR, instance_id VARCHAR, version VARCHAR)')
  await run('CREATE TABLE reports (report_id VARCHAR, instance_id VARCHAR, anonymous_id VARCHAR, version VARCHAR, uptime BIGINT, received_at TIMESTAMP, day DATE, parts INTEGER, rss BIGINT, heap_used BIGINT)')
  await run(`CREATE TABLE traffic (day DATE, anonymous_id VARCHAR, instance_id VARCHAR, version VARCHAR, report_id VARCHAR, endpoint VARCHAR, method VARCHAR,
    requests BIGINT, responses BIGINT, aborted BIGINT, status MAP(VARCHAR, BIGINT), latency_buckets BIGINT[], latency_sum DOUBLE, size_buckets BIGINT[], size_unknown BIGINT, size_sum DOUBLE)`)
  await run('CREATE TABLE report_facts (day DATE, anonymous_id VARCHAR, instance_id VARCHAR, version VARCHAR, name VARCHAR, value VARCHAR)')
  await run('CREATE TABLE report_features (day DATE, anonymous_id VARCHAR, instance_id VARCHAR, version VARCHAR, name VARCHAR, uses BIGINT)')
  const byId = new Map(fleet.instances.map(i => [i.instanceId, i]))
  let message = 0
  for (const i of fleet.instances) {
    const days = [...i.days].sort()
    await run(`INSERT INTO instances VALUES (${q(i.instanceId)}, ${q(i.anonymousId)}, ${q(i.version)}, 'hash', ${i.os === undefined ? 'NULL' : q(i.os)},
      ${i.arch === undefined ? 'NULL' : q(i.arch)}, ${i.numCpu ?? 'NULL'}, ${i.runtimeVersion === undefined ? 'NULL' : q(i.runtimeVersion)}, ${q(days[0])}, ${q(days[days.length - 1])})`)
    for (const day of days) {
      await run(`INSERT INTO activity VALUES (${q(day)}, ${q(i.anonymousId)}, ${q(i.instanceId)}, ${q(i.version)})`)
      await run(`INSERT INTO events VALUES (${q(`msg-${i.instanceId}-${++message}`)}, 'source', 'keep-alive', ${q(i.anonymousId)}, ${q(i.instanceId)}, 2, ${q(day)}::TIMESTAMP, ${q(day)}, '{}')`)
    }
  }
  for (const r of fleet.reports) {
    const i = byId.get(r.instanceId) as InstanceSpec
    const who = `${q(i.anonymousId)}, ${q(i.instanceId)}, ${q(i.version)}`
    await run(`INSERT INTO reports VALUES (${q(r.reportId)}, ${q(i.instanceId)}, ${q(i.anonymousId)}, ${q(i.version)}, 900, ${q(r.day)}::TIMESTAMP, ${q(r.day)}, 1, ${r.rss ?? 'NULL'}, ${r.heapUsed ?? 'NULL'})`)
    await run(`INSERT INTO events VALUES (${q(`msg-${r.reportId}`)}, 'source', 'telemetry', ${q(i.anonymousId)}, ${q(i.instanceId)}, 2, ${q(r.day)}::TIMESTAMP, ${q(r.day)}, '{}')`)
    for (const [name, value] of Object.entries(r.facts ?? {})) await run(`INSERT INTO report_facts VALUES (${q(r.day)}, ${who}, ${q(name)}, ${q(value)})`)
    for (const [name, uses] of Object.entries(r.uses ?? {})) await run(`INSERT INTO report_features VALUES (${q(r.day)}, ${who}, ${q(name)}, ${uses})`)
    for (const t of r.traffic) {
      const latency = t.latency ?? bucketsWith([4, t.responses ?? t.requests])
      await run(`INSERT INTO traffic VALUES (${q(r.day)}, ${who}, ${q(r.reportId)}, ${q(t.endpoint)}, ${q(t.method)},
        ${t.requests}, ${t.responses ?? t.requests}, ${t.aborted ?? 0}, ${map(t.status ?? { 200: t.responses ?? t.requests })}, ${list(latency)}, 0, ${list(new Array(10).fill(0))}, 0, 0)`)
    }
  }
  await run('CREATE TABLE installations AS SELECT anonymous_id, min(day) AS first_day, max(day) AS last_day FROM activity GROUP BY anonymous_id')
  const sums = (column: string, n: number): string => `[${Array.from({ length: n }, (_, k) => `sum(${column}[${k + 1}])`).join(', ')}]`
  await run(`CREATE TABLE installation_traffic AS SELECT anonymous_id, version, endpoint, method, min(day) AS first_day, max(day) AS last_day,
    sum(requests) AS requests, sum(responses) AS responses, sum(aborted) AS aborted, NULL::MAP(VARCHAR, BIGINT) AS status,
    ${sums('latency_buckets', 14)} AS latency_buckets, ${sums('size_buckets', 10)} AS size_buckets,
    sum(coalesce(list_sum([e.value FOR e IN map_entries(status) IF e.key LIKE '5%']), 0))::BIGINT AS errors_5xx
    FROM traffic GROUP BY ALL`)
  await run(`CREATE TABLE daily_traffic AS SELECT day, version, endpoint, method, count(DISTINCT anonymous_id) AS installations, count(DISTINCT instance_id) AS instances,
    sum(requests) AS requests, sum(responses) AS responses, sum(aborted) AS aborted, ${sums('latency_buckets', 14)} AS latency_buckets FROM traffic GROUP BY ALL`)
  await run(`CREATE TABLE daily_instance_traffic AS
    WITH codes AS (SELECT day, instance_id, endpoint, method, map_from_entries(list({'key': code, 'value': n} ORDER BY code)) AS status
      FROM (SELECT day, instance_id, endpoint, method, e.key AS code, sum(e.value)::BIGINT AS n FROM traffic, unnest(map_entries(status)) AS t(e) GROUP BY ALL) GROUP BY ALL)
    SELECT day, anonymous_id, instance_id, version, endpoint, method, sum(requests) AS requests, sum(responses) AS responses,
      sum(aborted) AS aborted, any_value(codes.status) AS status, ${sums('latency_buckets', 14)} AS latency_buckets
    FROM traffic LEFT JOIN codes USING (day, instance_id, endpoint, method) GROUP BY ALL`)
  await run('CREATE TABLE daily_instance_facts AS SELECT DISTINCT * FROM report_facts')
  await run('CREATE TABLE daily_instance_features AS SELECT day, anonymous_id, instance_id, version, name, sum(uses)::BIGINT AS uses FROM report_features GROUP BY ALL')
  await run(`CREATE TABLE daily_facts AS SELECT day, version, name, value, count(DISTINCT anonymous_id) AS installations, count(DISTINCT instance_id) AS instances
    FROM daily_instance_facts GROUP BY ALL`)
  await run(`CREATE TABLE daily_features AS SELECT day, version, name, count(DISTINCT anonymous_id) AS installations,
    count(DISTINCT anonymous_id) FILTER (WHERE uses > 0) AS installations_using, sum(uses)::BIGINT AS uses FROM daily_instance_features GROUP BY ALL`)
  await run('CREATE VIEW memory_by_version AS SELECT day, version, anonymous_id, rss, heap_used FROM reports')
  await run(`CREATE TABLE ingest_model AS SELECT ${MODEL_VERSION} AS version`)
  c.closeSync()
  db.closeSync()
}

/** n installations, one instance each, on the given version, active on `days`, each with one report per day (its facts and uses by `features`). */
export function uniformFleet (n: number, options: { prefix?: string, version?: string, days?: string[], traffic?: TrafficSpec[], os?: string, features?: (i: number) => Pick<ReportSpec, 'facts' | 'uses'> } = {}): FleetSpec {
  const prefix = options.prefix ?? 'a'
  const days = options.days ?? ['2026-01-01']
  const instances: InstanceSpec[] = []
  const reports: ReportSpec[] = []
  for (let i = 0; i < n; i++) {
    const instanceId = `instance-${prefix}-${i}`
    instances.push({ instanceId, anonymousId: `cluster-${prefix}-${i}`, version: options.version ?? '1.0.0', os: options.os ?? 'linux', arch: 'x64', numCpu: 2, runtimeVersion: 'v20.20.2', days })
    for (const day of days) {
      reports.push({ reportId: `report-${prefix}-${i}-${day}`, instanceId, day, rss: 100e6 + i * 1e6, heapUsed: 20e6 + i * 1e6, traffic: options.traffic ?? [{ endpoint: '/items', method: 'GET', requests: 10 }], ...options.features?.(i) })
    }
  }
  return { instances, reports }
}

export function mergeFleets (...fleets: FleetSpec[]): FleetSpec {
  return { instances: fleets.flatMap(f => f.instances), reports: fleets.flatMap(f => f.reports) }
}
