import { test } from 'tap'
import { median, normalUpper, rankSum, signedRank } from '../../lib/analysis/report/significance'

// Reference p-values from SciPy 1.17.1 (scipy.stats.wilcoxon, scipy.stats.mannwhitneyu) and R's documentation examples.

/** Every one of the 2^n sign assignments of |d|'s mid-ranks: the exact one-sided p-values by enumeration. */
function signedRankByEnumeration (d: number[]): { greater: number, less: number } {
  const nonZero = d.filter(x => x !== 0)
  const abs = nonZero.map(Math.abs)
  const rank = (v: number): number => abs.filter(a => a < v).length + (abs.filter(a => a === v).length + 1) / 2
  const ranks = abs.map(rank)
  const observed = nonZero.reduce((a, x, i) => a + (x > 0 ? ranks[i] : 0), 0)
  let greater = 0
  let less = 0
  const total = 2 ** ranks.length
  for (let mask = 0; mask < total; mask++) {
    const w = ranks.reduce((a, r, i) => a + ((mask >> i) & 1 ? r : 0), 0)
    if (w >= observed) greater++
    if (w <= observed) less++
  }
  return { greater: greater / total, less: less / total }
}

/** Every way to pick which len(x) of the pooled values are x's: the exact one-sided p-values by enumeration. */
function rankSumByEnumeration (x: number[], y: number[]): { greater: number, less: number } {
  const all = [...x, ...y]
  const rank = (v: number): number => all.filter(a => a < v).length + (all.filter(a => a === v).length + 1) / 2
  const ranks = all.map(rank)
  const observed = x.reduce((a, v) => a + rank(v), 0)
  let greater = 0
  let less = 0
  let total = 0
  for (let mask = 0; mask < 2 ** all.length; mask++) {
    const chosen = ranks.filter((_, i) => (mask >> i) & 1)
    if (chosen.length !== x.length) continue
    total++
    const s = chosen.reduce((a, r) => a + r, 0)
    if (s >= observed) greater++
    if (s <= observed) less++
  }
  return { greater: greater / total, less: less / total }
}

test('the normal upper tail within 1e-7: P(Z ≥ 0) = ½, P(Z ≥ 2.326348) = 0.01, P(Z ≥ -1.959964) = 0.975', async t => {
  t.ok(Math.abs(normalUpper(0) - 0.5) < 1e-7)
  t.ok(Math.abs(normalUpper(2.326348) - 0.01) < 1e-7)
  t.ok(Math.abs(normalUpper(-1.959964) - 0.975) < 1e-7)
})

test('median of odd and even counts', async t => {
  t.equal(median([3, 1, 2]), 2)
  t.equal(median([4, 1, 3, 2]), 2.5)
})

test('signed rank, exact: R\'s depression example (9 pairs) gives V = 40, p = 0.01953 one-sided', async t => {
  const x = [1.83, 0.50, 1.62, 2.48, 1.68, 1.88, 1.55, 3.06, 1.30]
  const y = [0.878, 0.647, 0.598, 2.05, 1.06, 1.29, 1.06, 3.14, 1.29]
  const result = signedRank(x.map((v, i) => v - y[i]))
  t.equal(result.n, 9)
  t.ok(Math.abs(result.greater - 0.01953125) < 1e-12)
  t.ok(Math.abs(result.less - signedRankByEnumeration(x.map((v, i) => v - y[i])).less) < 1e-12)
})

test('signed rank, exact: 7 pairs all worse is the smallest n below 0.01 (1/128); 6 pairs cannot be (1/64)', async t => {
  t.equal(signedRank([1, 2, 3, 4, 5, 6, 7]).greater, 1 / 128)
  t.equal(signedRank([1, 2, 3, 4, 5, 6]).greater, 1 / 64)
  t.equal(signedRank([-1, -2, -3, -4, -5, -6, -7]).less, 1 / 128)
})

test('signed rank, exact with ties and zeros: equal to enumerating every sign assignment', async t => {
  for (const d of [[0, 1, 1, -1, 2, 2, 2, -3, 4, 0.5], [0.1, 0.1, 0.1, 0.1, -0.1, 0.3, 0], [5, -5, 5, 1, 1, -1, 2]]) {
    const exact = signedRank(d)
    const enumerated = signedRankByEnumeration(d)
    t.ok(Math.abs(exact.greater - enumerated.greater) < 1e-12 && Math.abs(exact.less - enumerated.less) < 1e-12, JSON.stringify(d))
  }
})

test('signed rank: log ratios of equal sizes are ties even when the floating point differs in the last bit', async t => {
  t.equal(signedRank([Math.log(1.1 / 1), -Math.log(1 / 1.1) + 1e-16]).greater, signedRank([1, 1]).greater)
})

test('signed rank: no non-zero difference means no evidence either way', async t => {
  t.same(signedRank([0, 0, 0]), { n: 0, greater: 1, less: 1 })
})

test('signed rank, normal approximation above 25 pairs with tie correction: SciPy gives 0.020013 and 0.981198', async t => {
  const d = Array.from({ length: 30 }, (_, i) => ((i % 7) - 2) * 0.5)
  const result = signedRank(d)
  t.equal(result.n, 26)
  t.ok(Math.abs(result.greater - 0.020013163739687458) < 1e-6)
  t.ok(Math.abs(result.less - 0.9811980138409399) < 1e-6)
})

test('rank sum, exact: R\'s example (10 against 5) gives W = 35, p = 0.1272 one-sided', async t => {
  const x = [0.80, 0.83, 1.89, 1.04, 1.45, 1.38, 1.91, 1.64, 0.73, 1.46]
  const y = [1.15, 0.88, 0.90, 0.74, 1.21]
  t.ok(Math.abs(rankSum(x, y).greater - 0.1272061272061272) < 1e-12)
})

test('rank sum, exact: 5 against 5 all larger gives 1 / C(10, 5) = 1/252', async t => {
  t.equal(rankSum([6, 7, 8, 9, 10], [1, 2, 3, 4, 5]).greater, 1 / 252)
  t.equal(rankSum([1, 2, 3, 4, 5], [6, 7, 8, 9, 10]).less, 1 / 252)
})

test('rank sum, exact with ties: equal to enumerating every split of the pooled values', async t => {
  for (const [x, y] of [[[0, 0, 0.01, 0.02, 0.02], [0, 0, 0, 0.01, 0.001, 0]], [[1, 2, 2, 3, 3, 3], [2, 3, 4, 4, 5]], [[0, 0, 0, 0, 0.5], [0, 0, 0, 0, 0, 0]]]) {
    const exact = rankSum(x, y)
    const enumerated = rankSumByEnumeration(x, y)
    t.ok(Math.abs(exact.greater - enumerated.greater) < 1e-12 && Math.abs(exact.less - enumerated.less) < 1e-12, JSON.stringify([x, y]))
  }
})

test('rank sum: every value tied means no evidence either way', async t => {
  t.same(rankSum([0, 0, 0, 0, 0], [0, 0, 0, 0, 0]), { greater: 1, less: 1 })
})

test('rank sum, normal approximation above 25 per group with tie correction: SciPy gives 0.206262 and 0.798334', async t => {
  const x = Array.from({ length: 30 }, (_, i) => i % 5)
  const y = Array.from({ length: 27 }, (_, i) => (i % 4) + 0.5 * (i % 2))
  const result = rankSum(x, y)
  t.ok(Math.abs(result.greater - 0.20626217936392222) < 1e-6)
  t.ok(Math.abs(result.less - 0.79833430208124) < 1e-6)
})

test('the exact distributions are cached per tie structure, and the cache starts over when full', async t => {
  // 600 different tie structures, more than the cache holds: every answer stays that of its structure.
  const answers = new Map<string, number>()
  for (let round = 0; round < 2; round++) {
    for (let a = 1; a <= 10; a++) {
      for (let b = 1; b <= 10; b++) {
        for (let singles = 0; singles < 6; singles++) {
          const d = [...new Array<number>(a).fill(1), ...new Array<number>(b).fill(-2), ...Array.from({ length: singles }, (_, i) => 3 + i)]
          const key = `${a},${b},${singles}`
          const p = signedRank(d).greater
          if (round === 0) answers.set(key, p)
          else t.equal(p, answers.get(key), key)
        }
      }
    }
  }
  t.equal(signedRank([1, 2, 3, 4, 5, 6, 7]).greater, 1 / 128)
})
