import { test } from 'tap'
import { compareMeasure, compareRows, describeRule, judge, RULE, type InstallationFigures } from '../../lib/analysis/report/release-rule'
import type { Measure } from '../../lib/analysis/report/stats-types'

/** Installations `prefix-0…` with these p95s (ms) and 5xx rates, 500 responses each (p99 left out). */
function side (prefix: string, values: number[], options: { responses?: number, errorRates?: number[] } = {}): Map<string, InstallationFigures> {
  return new Map(values.map((ms, i) => [`${prefix}-${i}`, {
    responses: options.responses ?? 500, p50: ms / 2, p95: ms, p99: ms * 2, errorRate: options.errorRates?.[i] ?? 0
  }]))
}
const spread = (n: number, from: number): number[] => Array.from({ length: n }, (_, i) => from + i * 3)

/** One row compared alone (the unpaired level is then alpha over that row's unpaired tests): the measure's test and marks. */
function verdict (measure: Measure, latest: Map<string, InstallationFigures>, previous: Map<string, InstallationFigures>, k: number) {
  const [row] = compareRows([{ latest, previous }], k).rows
  return { comparison: row.measures[measure], worse: row.regression[measure], better: row.improvement[measure] }
}

test('paired: 8 installations all 30 % slower are marked, with the median ratio and the exact p against 1.10 (1/256)', async t => {
  const before = spread(8, 40)
  const { comparison, worse, better } = verdict('p95', side('a', before.map(v => v * 1.3)), side('a', before), 5)
  t.same([worse, better], [true, false])
  t.same([comparison.test, comparison.pairs, comparison.installations, comparison.reason], ['paired', 8, { latest: 8, previous: 8 }, null])
  t.ok(Math.abs((comparison.change as number) - 1.3) < 1e-9)
  t.equal(comparison.p?.worse, 1 / 256)
  t.equal(comparison.previous, 50.5)
})

test('paired: a consistent 5 % slowdown is not more than the minimum effect (1.10): not marked', async t => {
  const before = spread(20, 40)
  const { comparison, worse } = verdict('p95', side('a', before.map(v => v * 1.05)), side('a', before), 5)
  t.equal(comparison.p?.worse, 1)
  t.equal(worse, false)
})

test('paired: p below alpha but a median effect under the minimum is not marked', async t => {
  const c = { latest: 1, previous: 1, installations: { latest: 9, previous: 9 }, change: 1.09, test: 'paired' as const, pairs: 9, p: { worse: 0.001, better: 0.5 }, reason: null }
  t.same(judge('p50', c, RULE.alpha), { worse: false, better: false })
  t.same(judge('errorRate', { ...c, change: 0.4 }, RULE.alpha), { worse: false, better: false })
  t.same(judge('errorRate', { ...c, change: -0.6, p: { worse: 0.5, better: 0.001 } }, RULE.alpha), { worse: false, better: true })
})

test('paired: 30 % faster everywhere is marked as an improvement', async t => {
  const before = spread(10, 40)
  const { worse, better } = verdict('p50', side('a', before.map(v => v * 0.7)), side('a', before), 5)
  t.same([worse, better], [false, true])
})

test('5xx, paired: one installation at 50 % errors among 20 unchanged marks nothing (median difference 0)', async t => {
  const rates = new Array<number>(20).fill(0.001)
  const broken = rates.map((r, i) => i === 0 ? 0.5 : r)
  const { comparison, worse } = verdict('errorRate', side('a', spread(20, 40), { errorRates: broken }), side('a', spread(20, 40), { errorRates: rates }), 5)
  t.same([comparison.test, comparison.change, worse], ['paired', 0, false])
})

test('5xx, paired: every installation up by 2 points is marked; the change is in percentage points', async t => {
  const rates = Array.from({ length: 12 }, (_, i) => 0.005 + i * 0.001)
  const { comparison, worse, better } = verdict('errorRate', side('a', spread(12, 40), { errorRates: rates.map(r => r + 0.02) }), side('a', spread(12, 40), { errorRates: rates }), 5)
  t.same([worse, better], [true, false])
  t.ok(Math.abs((comparison.change as number) - 2) < 1e-9)
})

test('5xx: down by 1 point everywhere is marked as fewer errors', async t => {
  const rates = Array.from({ length: 12 }, (_, i) => 0.02 + i * 0.001)
  const { better } = verdict('errorRate', side('a', spread(12, 40), { errorRates: rates.map(r => r - 0.01) }), side('a', spread(12, 40), { errorRates: rates }), 5)
  t.equal(better, true)
})

test('unpaired: fewer than 7 pairs, groups of 5 and 6 all slower: Mann–Whitney, ratio of the medians, p = 1/462', async t => {
  const { comparison, worse } = verdict('p95', side('new', spread(5, 100)), side('old', spread(6, 40)), 5)
  // Three unpaired tests in this comparison (p50, p95, 5xx; p99 has too few responses): each at 0.01 / 3.
  t.same([comparison.test, comparison.pairs, worse], ['unpaired', 0, true])
  t.ok(Math.abs((comparison.p?.worse as number) - 1 / 462) < 1e-12)
  t.ok(Math.abs((comparison.change as number) - 106 / 47.5) < 1e-9)
})

test('unpaired tests share alpha (Bonferroni): the same groups next to 9 more unpaired rows are not marked', async t => {
  const rows = Array.from({ length: 10 }, () => ({ latest: side('new', spread(5, 100)), previous: side('old', spread(6, 40)) }))
  const { rule, rows: verdicts } = compareRows(rows, 5)
  t.same([rule.unpairedTests, rule.unpairedAlpha], [30, 0.01 / 30])
  t.equal(verdicts[0].regression.p95, false)
  t.match(rule.text, 'p < 0.01 / the number of unpaired tests in this comparison (Bonferroni; 30: p < 0.00033)')
})

test('unpaired 5xx: the difference of the medians in points, tested against +0.5', async t => {
  const rates = [0.01, 0.012, 0.014, 0.016, 0.018]
  const c = compareMeasure('errorRate', side('new', spread(5, 40), { errorRates: rates.map(r => r + 0.03) }), side('old', spread(5, 40), { errorRates: rates }), 5)
  t.ok(Math.abs((c.change as number) - 3) < 1e-9)
  t.equal(c.p?.worse, 1 / 252)
})

test('paired: the figures are the pairs\' medians; installations on one version only are left out, as the test leaves them out', async t => {
  const before = spread(8, 40)
  const latest = new Map([...side('a', before.map(v => v * 1.3)), ...side('new', [1, 1, 1, 1, 1, 1, 1, 1, 1])])
  const previous = new Map([...side('a', before), ...side('old', [900, 900, 900, 900, 900, 900, 900, 900, 900])])
  const { comparison, worse } = verdict('p95', latest, previous, 5)
  t.same([comparison.test, comparison.pairs, comparison.installations, worse], ['paired', 8, { latest: 17, previous: 17 }, true])
  t.same([comparison.previous, comparison.latest], [50.5, 50.5 * 1.3])
})

test('paired: the change is between the two medians shown, even where the median of the pairs\' own ratios points the other way', async t => {
  // Ratios 1.2 (four pairs) and 0.5 (three): their median says 20 % slower; the medians say 40 → 30 ms, 25 % faster.
  const previous = [10, 20, 30, 40, 50, 60, 70]
  const latest = [12, 24, 15, 48, 60, 30, 35]
  const { comparison, worse, better } = verdict('p95', side('a', latest), side('a', previous), 5)
  t.same([comparison.test, comparison.previous, comparison.latest, comparison.change, worse, better], ['paired', 40, 30, 0.75, false, false])
})

test('pairs are installations behind the figures shown: with fewer pairs than the privacy floor, the groups are compared unpaired', async t => {
  const latest = new Map([...side('a', spread(8, 100)), ...side('new', spread(4, 100))])
  const previous = new Map([...side('a', spread(8, 40)), ...side('old', spread(4, 40))])
  const { comparison } = verdict('p95', latest, previous, 10)
  t.same([comparison.test, comparison.pairs, comparison.previous, comparison.latest], ['unpaired', 0, 47.5, 107.5])
})

test('not enough installations: 3 pairs and groups of 4 compare nothing and say why', async t => {
  const { comparison, worse, better } = verdict('p95', side('a', spread(4, 100)), side('a', spread(4, 40)), 3)
  t.same([comparison.test, comparison.change, comparison.p, worse, better], ['none', null, null, false, false])
  t.equal(comparison.reason, 'not enough installations to compare: 4 ran both versions (7 needed), 4 and 4 ran one (5 needed on each side)')
})

test('the privacy floor applies to each side: 8 pairs under k = 10 publish no median and no test', async t => {
  const { comparison } = verdict('p95', side('a', spread(8, 100)), side('a', spread(8, 40)), 10)
  t.same([comparison.latest, comparison.previous, comparison.test, comparison.installations], [null, null, 'none', { latest: 8, previous: 8 }])
  t.match(comparison.reason, 'fewer than 10 installations with 100 responses on the latest version (the privacy floor)')
  const previousOnly = verdict('p95', side('a', spread(12, 100)), side('a', spread(8, 40)), 10).comparison
  t.same([previousOnly.latest, previousOnly.previous], [116.5, null])
  t.match(previousOnly.reason, 'on the previous version')
})

test('an installation counts with at least 100 responses, and for p99 with at least 1 000', async t => {
  const few = side('a', spread(10, 40), { responses: 99 })
  t.equal(verdict('p50', few, few, 5).comparison.installations.latest, 0)
  const some = side('a', spread(10, 40), { responses: 999 })
  t.same([verdict('p95', some, some, 5).comparison.installations.latest, verdict('p99', some, some, 5).comparison.installations.latest], [10, 0])
  t.equal(verdict('p99', side('a', spread(10, 40), { responses: 1000 }), some, 5).comparison.installations.latest, 10)
})

test('an installation without a latency histogram counts for 5xx only', async t => {
  const blank = new Map([...side('a', spread(10, 40))].map(([id, f]) => [id, { ...f, p50: null }]))
  t.same([verdict('p50', blank, blank, 5).comparison.installations.latest, verdict('errorRate', blank, blank, 5).comparison.installations.latest], [0, 10])
})

test('the rule in words carries its numbers and the floor', async t => {
  const rule = describeRule(5, 0)
  t.same([rule.unit, rule.alpha, rule.minPairs, rule.minGroup, rule.minLatencyRatio, rule.minErrorRatePoints, rule.exactPairs, rule.unpairedAlpha], ['installation', 0.01, 7, 5, 1.1, 0.5, 25, 0.01])
  t.match(rule.text, /ratio latest \/ previous 1\.1, 5xx rate \+0\.5 percentage points.*Wilcoxon signed-rank.*p < 0\.01.*Mann–Whitney U.*at least 5 installations \(the privacy floor\)/)
})
