/** stats.json, schemaVersion 1 (JSON Schema: schema/stats/stats.v1.json). null always means "fewer than k installations". */
export interface Stats {
  schema: 'fastify-anonymous-telemetry-collector/stats'
  schemaVersion: 1
  generatedAt: string
  minInstallations: number
  period: { from: string | null, to: string | null }
  fleet: { installations: number | null, instances: number | null, requests: number | null }
  activity: Array<{ day: string, installations: number | null, instances: number | null }>
  versions: Rows<{ version: string, installations: number, firstDay: string }>
  adoption: Array<{ day: string, installations: number | null, shares: Array<{ version: string, installations: number | null, share: number | null }> }>
  platform: { os: Distribution, arch: Distribution, runtimeVersion: Distribution, numCpu: Distribution }
  endpoints: {
    usage: Rows<{ endpoint: string, installations: number, share: number, requests: number }>
    requestsPerDay: Array<{ day: string, installations: number | null, requests: number | null }>
    methods: Rows<{ method: string, installations: number, requests: number, share: number }>
  }
  comparison: Comparison
  memory: Rows<{ version: string, installations: number, rss: Quantiles, heapUsed: Quantiles }>
}

/** Published rows (each from at least k installations) and the number of rows the floor left out. */
export interface Rows<T> { rows: T[], belowFloor: number }
export type Distribution = Rows<{ value: string, installations: number, share: number }> & { installations: number | null }
export interface Quantiles { p50: number, p95: number }

export interface LatencyFigure { bucket: number, ms: number | null, display: string }
export interface Side {
  installations: number
  requests: number
  responses: number
  errors5xx: number
  errorRate: number
  p50: LatencyFigure | null
  p95: LatencyFigure | null
  p99: LatencyFigure | null
}
export interface Comparison {
  latest: string | null
  previous: string | null
  rule: { percentile: string, errorRate: string, alpha: number, z: number }
  rows: Array<{
    endpoint: string
    method: string
    latest: Side | null
    previous: Side | null
    regression: { p50: boolean, p95: boolean, p99: boolean, errorRate: boolean }
  }>
  belowFloor: number
}
