// Renders a `telemetry` event for a terminal: one row per endpoint, latency percentiles estimated from the
// histogram buckets (the report carries no raw timings, only counts per bucket).
import { LATENCY_BOUNDS_MS } from 'fastify-anonymous-telemetry'

/**
 * Estimates the `q` quantile (0..1) of a histogram: finds the bucket holding the rank and interpolates linearly
 * inside it. Returns `null` for an empty histogram and `Infinity` when the rank falls in the overflow bucket.
 */
export function estimateQuantile ({ count, buckets }, q, bounds = LATENCY_BOUNDS_MS) {
  if (count === 0) return null
  const rank = q * count
  let below = 0
  for (let i = 0; i < buckets.length; i++) {
    if (buckets[i] > 0 && below + buckets[i] >= rank) {
      if (i === bounds.length) return Infinity
      const lower = i === 0 ? 0 : bounds[i - 1]
      return lower + (bounds[i] - lower) * (rank - below) / buckets[i]
    }
    below += buckets[i]
  }
  return Infinity
}

function formatMs (value) {
  if (value === null) return '-'
  if (value === Infinity) return `>${LATENCY_BOUNDS_MS.at(-1)}`
  return value < 10 ? value.toFixed(1) : String(Math.round(value))
}

function formatStatus (status) {
  return Object.entries(status).map(([code, count]) => `${code}×${count}`).join(' ') || '-'
}

const COLUMNS = ['endpoint', 'requests', 'responses', 'aborted', 'p50 ms', 'p95 ms', 'status codes']

function row (name, record) {
  return [
    name,
    String(record.requests),
    String(record.responses),
    String(record.aborted),
    formatMs(estimateQuantile(record.latency, 0.5)),
    formatMs(estimateQuantile(record.latency, 0.95)),
    formatStatus(record.status)
  ]
}

/** The per-endpoint table of one `telemetry` event's properties, plus a total row when the event carries totals. */
export function reportTable (properties) {
  const rows = Object.entries(properties.paths).map(([endpoint, record]) => row(endpoint, record))
  if (properties.latency !== undefined) rows.push(row('(all)', properties))
  const widths = COLUMNS.map((title, i) => Math.max(title.length, ...rows.map(cells => cells[i].length)))
  // Names and status codes read left-aligned, numbers right-aligned.
  const line = cells => cells.map((cell, i) => (i === 0 || i === cells.length - 1 ? cell.padEnd(widths[i]) : cell.padStart(widths[i]))).join('  ').trimEnd()
  return [line(COLUMNS), line(widths.map(width => '-'.repeat(width))), ...rows.map(line)].join('\n')
}
