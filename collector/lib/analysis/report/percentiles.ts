/** Inclusive upper bounds (ms) of the plugin's latency buckets; a 14th bucket is open above 10 s. */
export const LATENCY_BOUNDS_MS: readonly number[] = [1, 2.5, 5, 10, 25, 50, 100, 250, 500, 1000, 2500, 5000, 10000]

/** A percentile read from a histogram: its bucket index and its value, null in the open top bucket. */
export interface Percentile { bucket: number, ms: number | null }

/**
 * The p-quantile (0 < p ≤ 1) of a merged latency histogram: rank = p × count, found in the first bucket whose
 * cumulative count reaches it, then placed by linear interpolation between the bucket's bounds (the first bucket
 * starts at 0). Null for an empty histogram.
 */
export function percentile (buckets: readonly number[], p: number): Percentile | null {
  const total = buckets.reduce((a, b) => a + b, 0)
  if (total === 0) return null
  const rank = p * total
  let before = 0
  let i = 0
  // Terminates: before < rank holds on entry and the cumulative count reaches total ≥ rank.
  while (before + buckets[i] < rank) before += buckets[i++]
  if (i >= LATENCY_BOUNDS_MS.length) return { bucket: i, ms: null }
  const lower = i === 0 ? 0 : LATENCY_BOUNDS_MS[i - 1]
  return { bucket: i, ms: lower + (rank - before) / buckets[i] * (LATENCY_BOUNDS_MS[i] - lower) }
}

/** "0.5 ms", "12.3 ms", "2.50 s", and "> 10 s" in the open top bucket. */
export function formatLatency (value: Percentile): string {
  return value.ms === null ? '> 10 s' : formatMs(value.ms)
}

/** "0.5 ms", "12.3 ms", "2.50 s": three significant digits. */
export function formatMs (ms: number): string {
  return ms >= 1000 ? `${(ms / 1000).toPrecision(3)} s` : `${Number(ms.toPrecision(3))} ms`
}
