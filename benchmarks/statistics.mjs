// The statistic every benchmark reports: the median, with a 95 % percentile-bootstrap interval drawn from a seeded
// generator, so that the same runs always give the same interval.

export const RESAMPLES = 10_000
export const SEED = 20261201

export function median (values) {
  const sorted = [...values].sort((a, b) => a - b)
  const middle = Math.floor(sorted.length / 2)
  return sorted.length % 2 === 1 ? sorted[middle] : (sorted[middle - 1] + sorted[middle]) / 2
}

/** mulberry32: a small, fast generator of uniform numbers in [0, 1), fully determined by `seed`. */
function generator (seed) {
  let state = seed >>> 0
  return () => {
    state = (state + 0x6d2b79f5) >>> 0
    let t = state
    t = Math.imul(t ^ (t >>> 15), t | 1)
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61)
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296
  }
}

function resample (values, random) {
  return Array.from(values, () => values[Math.floor(random() * values.length)])
}

/** The 2.5th and 97.5th percentiles of `statistic` over `RESAMPLES` resamples (with replacement) of each sample. */
function interval (samples, statistic) {
  const random = generator(SEED)
  const estimates = []
  for (let i = 0; i < RESAMPLES; i++) estimates.push(statistic(...samples.map(values => resample(values, random))))
  estimates.sort((a, b) => a - b)
  return [estimates[Math.floor(0.025 * RESAMPLES)], estimates[Math.ceil(0.975 * RESAMPLES) - 1]]
}

/** Median of `values`, its 95 % bootstrap interval, and the range. */
export function medianWithInterval (values) {
  const [low, high] = interval([values], median)
  return { median: median(values), low, high, min: Math.min(...values), max: Math.max(...values), n: values.length }
}

/** Difference of the medians of two independent samples (`values` − `baseline`) and its 95 % bootstrap interval. */
export function medianDifference (values, baseline) {
  const difference = (a, b) => median(a) - median(b)
  const [low, high] = interval([values, baseline], difference)
  return { median: difference(values, baseline), low, high }
}
