import { METHODS, type ReportedMethod } from './anonymizer'

/**
 * Upper bounds (inclusive, milliseconds) of the latency histogram buckets. Constant across versions and
 * instances, so that histograms from many installations add up bucket by bucket.
 */
export const LATENCY_BOUNDS_MS: readonly number[] = Object.freeze([1, 2.5, 5, 10, 25, 50, 100, 250, 500, 1000, 2500, 5000, 10000])

/** Upper bounds (inclusive, bytes) of the response size histogram buckets. */
export const SIZE_BOUNDS_BYTES: readonly number[] = Object.freeze([64, 256, 1024, 4096, 16384, 65536, 262144, 1048576, 4194304])

/** Status codes outside 100..599 (only possible through `reply.raw`) are counted under 0, keeping the map bounded. */
const STATUS_UNKNOWN = 0

export interface HistogramRecord {
  /** Number of observations. */
  count: number
  /** Sum of the observed values. */
  sum: number
  /** Non-cumulative counts: `buckets[i]` counts values `<= bounds[i]` and `> bounds[i - 1]`; the last entry is overflow. */
  buckets: number[]
}

export interface SizeHistogramRecord extends HistogramRecord {
  /** Responses without a `content-length` (streams). */
  unknown: number
}

/** What is known about a set of requests: the unit of every report entry. */
export interface MetricsRecord {
  requests: number
  responses: number
  /** Requests closed by the client before a response was sent. */
  aborted: number
  /** Milliseconds from request to response (`reply.elapsedTime`). */
  latency: HistogramRecord
  /** Response `content-length` in bytes. */
  size: SizeHistogramRecord
  /** Status code -> count. */
  status: Record<string, number>
}

class Histogram {
  count = 0
  sum = 0
  readonly buckets: Float64Array

  constructor (readonly bounds: readonly number[]) {
    this.buckets = new Float64Array(bounds.length + 1)
  }

  observe (value: number): void {
    const bounds = this.bounds
    let i = 0
    while (i < bounds.length && value > bounds[i]) i++
    this.buckets[i]++
    this.count++
    this.sum += value
  }

  /** Folds another histogram with the same bounds into this one (summaries only). */
  add (other: Histogram): void {
    this.count += other.count
    this.sum += other.sum
    for (let i = 0; i < this.buckets.length; i++) this.buckets[i] += other.buckets[i]
  }

  toRecord (): HistogramRecord {
    return { count: this.count, sum: this.sum, buckets: Array.from(this.buckets) }
  }
}

/** Counters of one (endpoint, method) pair. All mutation happens here, on the request path: O(1) and allocation free. */
export class MetricsCell {
  requests = 0
  responses = 0
  aborted = 0
  sizeUnknown = 0
  readonly latency = new Histogram(LATENCY_BOUNDS_MS)
  readonly size = new Histogram(SIZE_BOUNDS_BYTES)
  readonly status = new Map<number, number>()

  /** `contentLength` is `undefined` when the response had none (a stream). */
  countResponse (statusCode: number, elapsedMs: number, contentLength: number | undefined): void {
    this.responses++
    this.latency.observe(elapsedMs)
    if (contentLength === undefined) this.sizeUnknown++
    else this.size.observe(contentLength)
    const code = statusCode >= 100 && statusCode <= 599 ? statusCode : STATUS_UNKNOWN
    this.status.set(code, (this.status.get(code) ?? 0) + 1)
  }

  /** Folds another cell into this one: `summarize` sums cells, which keeps status counts in a Map until the end. */
  add (other: MetricsCell): void {
    this.requests += other.requests
    this.responses += other.responses
    this.aborted += other.aborted
    this.sizeUnknown += other.sizeUnknown
    this.latency.add(other.latency)
    this.size.add(other.size)
    for (const [code, count] of other.status) this.status.set(code, (this.status.get(code) ?? 0) + count)
  }

  /** The report form. Latency sums are rounded to microseconds: the report needs no more, and it keeps events small. */
  toRecord (): MetricsRecord {
    const latency = this.latency.toRecord()
    latency.sum = Math.round(latency.sum * 1000) / 1000
    const { count, sum, buckets } = this.size.toRecord()
    const status = statusRecord()
    for (const [code, responses] of this.status) status[code] = responses
    return {
      requests: this.requests,
      responses: this.responses,
      aborted: this.aborted,
      latency,
      size: { count, sum, unknown: this.sizeUnknown, buckets },
      status
    }
  }
}

/** An integer key far beyond any status code, beyond what V8 keeps in a flat array. */
const SPARSE_KEY = 1 << 20

/**
 * An empty status code -> count object. Its keys are integers from 100 to 599, for which V8 allocates a flat array
 * up to the largest key (about 6 KB for a record with a 5xx), which JSON.stringify then walks slot by slot; a
 * report has one record per endpoint and method, so for a large app that garbage dominated the cost of a report.
 * Writing a key beyond that range first makes the object a hash table, which deleting the key leaves in place.
 */
function statusRecord (): Record<string, number> {
  const status: Record<string, number> = {}
  status[SPARSE_KEY] = 0
  delete status[SPARSE_KEY]
  return status
}

/** One cell per reported method, made on the first request with that method. */
export type MethodCells = Array<MetricsCell | undefined>

export function createMethodCells (): MethodCells {
  return new Array<MetricsCell | undefined>(METHODS.length).fill(undefined)
}

export interface PathRecord extends MetricsRecord {
  methods: Partial<Record<ReportedMethod, MetricsRecord>>
}

export interface MetricsSnapshot extends MetricsRecord {
  methods: Partial<Record<ReportedMethod, MetricsRecord>>
  paths: Record<string, PathRecord>
}

/**
 * Folds the cells of every endpoint into the report form: totals, per method, per endpoint and per
 * endpoint+method. Runs once per report, never per request. Endpoints and methods without traffic are left out.
 */
export function summarize (endpoints: ReadonlyMap<string, MethodCells>): MetricsSnapshot {
  const total = new MetricsCell()
  const methodSums = createMethodCells()
  const paths: MetricsSnapshot['paths'] = {}
  for (const endpoint of [...endpoints.keys()].sort()) {
    const cells = endpoints.get(endpoint) as MethodCells
    let path: MetricsCell | undefined
    const pathMethods: PathRecord['methods'] = {}
    cells.forEach((cell, index) => {
      if (cell === undefined) return
      pathMethods[METHODS[index]] = cell.toRecord()
      path ??= new MetricsCell()
      path.add(cell)
      const methodSum = methodSums[index] ??= new MetricsCell()
      methodSum.add(cell)
    })
    if (path !== undefined) {
      paths[endpoint] = { ...path.toRecord(), methods: pathMethods }
      total.add(path)
    }
  }
  const methods: MetricsSnapshot['methods'] = {}
  methodSums.forEach((sum, index) => {
    if (sum !== undefined) methods[METHODS[index]] = sum.toRecord()
  })
  return { ...total.toRecord(), methods, paths }
}
