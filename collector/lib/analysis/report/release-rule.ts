import { EXACT_SIGNED_RANK, median, rankSum, signedRank, type OneSided } from './significance'
import type { ComparisonRule, Marks, Measure, MeasureComparison } from './stats-types'

/**
 * The rule that marks a measure of an endpoint × method worse (or better) in the latest version. Its unit is the
 * installation: requests inside one installation are not independent, and one installation, however busy or broken,
 * is one observation.
 */
export const RULE = {
  alpha: 0.01,
  minResponses: 100,
  minResponsesP99: 1000,
  // With fewer than 7 pairs no signed-rank p can be below 0.01 (the smallest is 1 / 2^n).
  minPairs: 7,
  exactPairs: EXACT_SIGNED_RANK,
  minGroup: 5,
  minLatencyRatio: 1.1,
  minErrorRatePoints: 0.5
} as const

export const MEASURES: readonly Measure[] = ['p50', 'p95', 'p99', 'errorRate']

/** The rule in words and numbers, for stats.json and the page: k is the privacy floor, unpairedTests the comparison's. */
export function describeRule (k: number, unpairedTests: number): ComparisonRule {
  const r = RULE
  const unpairedAlpha = r.alpha / Math.max(1, unpairedTests)
  return {
    text: `The unit is the installation. Per endpoint and method, an installation counts on a version's side with at least ${r.minResponses} responses there ` +
      `(${r.minResponsesP99} for p99); its p50, p95 and p99 come from its own merged latency histogram, its 5xx rate from its own counts. ` +
      `A measure is marked worse when the latest version is worse by more than the minimum effect (latency ratio latest / previous ${r.minLatencyRatio}, ` +
      `5xx rate +${r.minErrorRatePoints} percentage points) by a one-sided test, and the medians shown (over the pairs, or over each group) differ by at least it; ` +
      'better, the same the other way. ' +
      `Installations that ran both versions are paired: a Wilcoxon signed-rank test of each pair's log latency ratio or 5xx difference at p < ${r.alpha}, ` +
      `with at least ${Math.max(r.minPairs, k)} pairs (${r.minPairs}, or the privacy floor if higher; exact up to ${r.exactPairs}, normal approximation with tie correction above). With fewer pairs, the two groups ` +
      `(each at least ${r.minGroup} installations) are compared by a Mann–Whitney U test at p < ${r.alpha} / the number of unpaired tests in this comparison ` +
      `(Bonferroni; ${unpairedTests === 0 ? 'there are none' : `${unpairedTests}: p < ${Number(unpairedAlpha.toPrecision(2))}`}); with fewer, nothing is compared. ` +
      `Each side needs at least ${k} installations (the privacy floor).`,
    unit: 'installation',
    ...r,
    unpairedTests,
    unpairedAlpha
  }
}

/** One installation's figures on one version's side: latency percentiles in ms (null without a histogram), 5xx rate 0–1. */
export interface InstallationFigures { responses: number, p50: number | null, p95: number | null, p99: number | null, errorRate: number }
type Side = ReadonlyMap<string, InstallationFigures>

/**
 * Compares one measure between the installations of the latest and of the previous version (maps keyed by
 * installation) under the privacy floor k: which test, the effect and the p-values against the minimum effect.
 * Latency is compared in logs (twice as slow weighs as much as twice as fast), 5xx rates in percentage points.
 */
export function compareMeasure (measure: Measure, latest: Side, previous: Side, k: number): MeasureComparison {
  const least = measure === 'p99' ? RULE.minResponsesP99 : RULE.minResponses
  const counted = (side: Side): Map<string, number> => new Map([...side]
    .filter(([, f]) => f.responses >= least && f[measure] !== null)
    .map(([id, f]) => [id, f[measure] as number]))
  const l = counted(latest)
  const p = counted(previous)
  const installations = { latest: l.size, previous: p.size }
  const none = (reason: string): MeasureComparison => ({
    latest: l.size >= k ? median([...l.values()]) : null,
    previous: p.size >= k ? median([...p.values()]) : null,
    installations,
    change: null,
    test: 'none',
    pairs: 0,
    p: null,
    reason
  })
  if (l.size < k || p.size < k) {
    return none(`fewer than ${k} installations with ${least} responses on the ${l.size < k ? 'latest' : 'previous'} version (the privacy floor)`)
  }
  const ids = [...l.keys()].filter(id => p.has(id))
  // The pairs are the installations behind the figures published, so they too need the privacy floor.
  const paired = ids.length >= Math.max(RULE.minPairs, k)
  if (!paired && (l.size < RULE.minGroup || p.size < RULE.minGroup)) {
    return none(`not enough installations to compare: ${ids.length} ran both versions (${Math.max(RULE.minPairs, k)} needed), ` +
      `${l.size} and ${p.size} ran one (${RULE.minGroup} needed on each side)`)
  }
  // The figures shown are those the test compares: with pairs, the paired installations' own (installations new on
  // the latest version, or gone from it, would otherwise move a side's median against the pairs' verdict).
  const a = paired ? ids.map(id => l.get(id) as number) : [...l.values()]
  const b = paired ? ids.map(id => p.get(id) as number) : [...p.values()]
  const latency = measure !== 'errorRate'
  const scale = (v: number): number => latency ? Math.log(v) : v * 100
  const margin = latency ? Math.log(RULE.minLatencyRatio) : RULE.minErrorRatePoints
  // Latest shifted by `by` against previous.
  const tails = (by: number): OneSided => paired
    ? signedRank(a.map((v, i) => scale(v) - scale(b[i]) + by))
    : rankSum(a.map(v => scale(v) + by), b.map(scale))
  // The effect is between the two medians shown, so that previous → latest always reads as the change (the median
  // of the pairs' own ratios can differ from it, even in sign).
  const change = latency ? median(a) / median(b) : 100 * (median(a) - median(b))
  return {
    latest: median(a),
    previous: median(b),
    installations,
    change,
    test: paired ? 'paired' : 'unpaired',
    pairs: paired ? ids.length : 0,
    p: { worse: tails(-margin).greater, better: tails(margin).less },
    reason: null
  }
}

/** Whether a compared measure is marked worse or better: its test below its level, and the change between the medians at least the minimum. */
export function judge (measure: Measure, c: MeasureComparison, unpairedAlpha: number): { worse: boolean, better: boolean } {
  if (c.p === null) return { worse: false, better: false }
  const alpha = c.test === 'paired' ? RULE.alpha : unpairedAlpha
  const change = c.change as number
  const latency = measure !== 'errorRate'
  return {
    worse: c.p.worse < alpha && (latency ? change >= RULE.minLatencyRatio : change >= RULE.minErrorRatePoints),
    better: c.p.better < alpha && (latency ? change <= 1 / RULE.minLatencyRatio : change <= -RULE.minErrorRatePoints)
  }
}

export interface RowVerdict { regression: Marks, improvement: Marks, measures: Record<Measure, MeasureComparison> }

/** A whole comparison: every measure of every row compared, then marked (the unpaired level depends on how many were run). */
export function compareRows (rows: ReadonlyArray<{ latest: Side, previous: Side }>, k: number): { rule: ComparisonRule, rows: RowVerdict[] } {
  const compared = rows.map(r => MEASURES.map(m => compareMeasure(m, r.latest, r.previous, k)))
  const unpairedTests = compared.flat().filter(c => c.test === 'unpaired').length
  const rule = describeRule(k, unpairedTests)
  return {
    rule,
    rows: compared.map(measures => {
      const marks = measures.map((c, i) => judge(MEASURES[i], c, rule.unpairedAlpha))
      const pick = <T>(f: (i: number) => T): Record<Measure, T> => Object.fromEntries(MEASURES.map((m, i) => [m, f(i)])) as Record<Measure, T>
      return { regression: pick(i => marks[i].worse), improvement: pick(i => marks[i].better), measures: pick(i => measures[i]) }
    })
  }
}
