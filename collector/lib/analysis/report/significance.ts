/**
 * Rank tests for the release rule, one-sided both ways: the p-value that the first sample is larger (`greater`)
 * and that it is smaller (`less`). Ties get mid-ranks; the exact distributions are those of the tied ranks (the
 * permutation distribution given the ties), and the normal approximations carry the tie correction and a
 * continuity correction of ½.
 */
export interface OneSided { greater: number, less: number }

/** Wilcoxon's p is exact up to this many non-zero differences, a normal approximation above. */
export const EXACT_SIGNED_RANK = 25
/** Mann–Whitney's p is exact while both groups have at most this many values. */
export const EXACT_RANK_SUM = 25

/** P(Z ≥ z) for a standard normal Z; erfc by Numerical Recipes' Chebyshev fit (relative error < 1.2e-7). */
export function normalUpper (z: number): number {
  const x = Math.abs(z) / Math.SQRT2
  const t = 1 / (1 + 0.5 * x)
  const erfc = t * Math.exp(-x * x - 1.26551223 + t * (1.00002368 + t * (0.37409196 + t * (0.09678418 + t * (-0.18628806 +
    t * (0.27886807 + t * (-1.13520398 + t * (1.48851587 + t * (-0.82215223 + t * 0.17087277)))))))))
  return z >= 0 ? erfc / 2 : 1 - erfc / 2
}

/** The median; NaN of nothing. */
export function median (values: readonly number[]): number {
  const sorted = [...values].sort((a, b) => a - b)
  const mid = sorted.length >> 1
  return sorted.length % 2 === 1 ? sorted[mid] : (sorted[mid - 1] + sorted[mid]) / 2
}

// Values within 1e-9 of each other are ties: log(a / b) and -log(b / a) may differ in the last bit. (The values
// tested are log ratios and percentage points, never so small that this merges real differences.)
const tieKey = (x: number): number => Math.round(x * 1e9)

/** Doubled mid-ranks (integers) of `values` in ascending order of tieKey, and the sizes of the tie groups. */
function doubledRanks (values: readonly number[]): { ranks: number[], ties: number[] } {
  const order = values.map((v, i) => ({ v: tieKey(v), i })).sort((a, b) => a.v - b.v)
  const ranks = new Array<number>(values.length)
  const ties: number[] = []
  for (let start = 0; start < order.length;) {
    let end = start
    while (end + 1 < order.length && order[end + 1].v === order[start].v) end++
    // Positions start..end (0-based) share the rank ((start + 1) + (end + 1)) / 2; doubled, start + end + 2.
    for (let j = start; j <= end; j++) ranks[order[j].i] = start + end + 2
    ties.push(end - start + 1)
    start = end + 1
  }
  return { ranks, ties }
}

const tieTerm = (ties: readonly number[]): number => ties.reduce((a, t) => a + t * t * t - t, 0)

/** The tails P(S ≥ s) and P(S ≤ s) of a discrete distribution given as probabilities per integer value. */
function tails (distribution: readonly number[], s: number): OneSided {
  let greater = 0
  let less = 0
  distribution.forEach((p, value) => {
    if (value >= s) greater += p
    if (value <= s) less += p
  })
  return { greater: Math.min(1, greater), less: Math.min(1, less) }
}

// The exact distributions depend only on the tie structure (and the group size): the same structure recurs for
// every row of a fleet, so each is computed once. The cache is bounded; it starts over when full.
const CACHE_LIMIT = 512
const cache = new Map<string, number[]>()
function cached (key: string, compute: () => number[]): number[] {
  let hit = cache.get(key)
  if (hit === undefined) {
    if (cache.size >= CACHE_LIMIT) cache.clear()
    hit = compute()
    cache.set(key, hit)
  }
  return hit
}

/**
 * Wilcoxon signed-rank test of `differences` against 0: `greater` is the p-value that they are centred above 0.
 * Zero differences are dropped (Wilcoxon's convention); with none left both p-values are 1.
 */
export function signedRank (differences: readonly number[]): OneSided & { n: number } {
  const nonZero = differences.filter(d => tieKey(d) !== 0)
  const n = nonZero.length
  if (n === 0) return { n, greater: 1, less: 1 }
  const { ranks, ties } = doubledRanks(nonZero.map(Math.abs))
  const plus = nonZero.reduce((a, d, i) => a + (d > 0 ? ranks[i] : 0), 0)
  if (n <= EXACT_SIGNED_RANK) {
    // Under the null each rank's sign is + or - with probability ½: the distribution of the doubled W+.
    const distribution = cached(`w${ties.join(',')}`, () => {
      let p = [1]
      for (const r of ranks) {
        const next = new Array<number>(p.length + r).fill(0)
        p.forEach((q, s) => { next[s] += q / 2; next[s + r] += q / 2 })
        p = next
      }
      return p
    })
    return { n, ...tails(distribution, plus) }
  }
  const w = plus / 2
  const mean = n * (n + 1) / 4
  const sd = Math.sqrt(n * (n + 1) * (2 * n + 1) / 24 - tieTerm(ties) / 48)
  return { n, greater: normalUpper((w - mean - 0.5) / sd), less: normalUpper((mean - w - 0.5) / sd) }
}

/**
 * Mann–Whitney U test of `x` against `y`: `greater` is the p-value that x's values tend to be larger. Both p-values
 * are 1 when every value is tied.
 */
export function rankSum (x: readonly number[], y: readonly number[]): OneSided {
  const m = x.length
  const n = y.length
  const { ranks, ties } = doubledRanks([...x, ...y])
  if (ties.length === 1) return { greater: 1, less: 1 }
  const sum = ranks.slice(0, m).reduce((a, r) => a + r, 0)
  if (m <= EXACT_RANK_SUM && n <= EXACT_RANK_SUM) {
    // Every choice of m of the N ranks for x is equally likely: ways[j][s] counts the choices of j ranks summing
    // (doubled) to s, built one tie group at a time (choosing c of its t members, C(t, c) ways).
    const distribution = cached(`u${m}:${ties.join(',')}`, () => {
      const size = (m + n) * (m + n + 1) + 1
      let ways = [new Array<number>(size).fill(0)]
      ways[0][0] = 1
      let position = 0
      for (const t of ties) {
        const rank = 2 * position + t + 1
        const next = Array.from({ length: Math.min(m, position + t) + 1 }, () => new Array<number>(size).fill(0))
        ways.forEach((row, j) => row.forEach((w, s) => {
          if (w === 0) return
          let choose = 1
          for (let c = 0; c <= t && j + c <= m; c++) {
            next[j + c][s + c * rank] += w * choose
            choose = choose * (t - c) / (c + 1)
          }
        }))
        ways = next
        position += t
      }
      const total = ways[m].reduce((a, w) => a + w, 0)
      return ways[m].map(w => w / total)
    })
    return tails(distribution, sum)
  }
  const N = m + n
  const u = sum / 2 - m * (m + 1) / 2
  const mean = m * n / 2
  const sd = Math.sqrt(m * n / 12 * (N + 1 - tieTerm(ties) / (N * (N - 1))))
  return { greater: normalUpper((u - mean - 0.5) / sd), less: normalUpper((mean - u - 0.5) / sd) }
}
