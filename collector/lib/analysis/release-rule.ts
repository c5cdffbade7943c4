import { EXACT_SIGNED_RANK, median, rankSum, signedRank } from './significance'
import type { ComparisonRule, Measure, MeasureComparison } from './stats-types'

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

/** The rule in words and numbers, for stats.json and the page. */
export function describeRule (k: number): ComparisonRule {
  const r = RULE
  return {
    text: `The unit is the installation. Per endpoint and method, an installation counts on a version's side with at least ${r.minResponses} responses there ` +
      `(${r.minResponsesP99} for p99); its p50, p95 and p99 come from its own merged latency histogram, its 5xx rate from its own counts. ` +
      `Installations that ran both versions are paired: a one-sided Wilcoxon signed-rank test of each pair's latency ratio (latest / previous) ` +
      `or 5xx difference, with at least ${r.minPairs} pairs (exact up to ${r.exactPairs}, normal approximation with tie correction above). ` +
      `With fewer pairs, the two groups (each at least ${r.minGroup} installations) are compared by a one-sided Mann–Whitney U test; ` +
      `with fewer, nothing is compared. A measure is marked worse when p < ${r.alpha} and the median ratio is at least ${r.minLatencyRatio} ` +
      `(latency) or the median difference at least +${r.minErrorRatePoints} percentage points (5xx); better, the same the other way ` +
      `(ratio at most 1 / ${r.minLatencyRatio}, difference at most −${r.minErrorRatePoints} points). Each side needs at least ${k} installations (the privacy floor).`,
    unit: 'installation',
    ...r
  }
}

/** One installation's figures on one version's side: latency percentiles in ms (null without a histogram), 5xx rate 0–1. */
export interface InstallationFigures { responses: number, p50: number | null, p95: number | null, p99: number | null, errorRate: number }

export interface Verdict { comparison: MeasureComparison, worse: boolean, better: boolean }

/**
 * Compares one measure between the installations of the latest and of the previous version (maps keyed by
 * installation), under the rule and the privacy floor k.
 */
export function compareMeasure (measure: Measure, latest: ReadonlyMap<string, InstallationFigures>, previous: ReadonlyMap<string, InstallationFigures>, k: number): Verdict {
  const least = measure === 'p99' ? RULE.minResponsesP99 : RULE.minResponses
  const counted = (side: ReadonlyMap<string, InstallationFigures>): Map<string, number> => new Map([...side]
    .filter(([, f]) => f.responses >= least && f[measure] !== null)
    .map(([id, f]) => [id, f[measure] as number]))
  const l = counted(latest)
  const p = counted(previous)
  const latency = measure !== 'errorRate'
  const base = {
    latest: l.size >= k ? median([...l.values()]) : null,
    previous: p.size >= k ? median([...p.values()]) : null,
    installations: { latest: l.size, previous: p.size }
  }
  const none = (reason: string): Verdict => ({ comparison: { ...base, change: null, test: 'none', pairs: 0, p: null, reason }, worse: false, better: false })
  if (l.size < k || p.size < k) {
    return none(`fewer than ${k} installations with ${least} responses on the ${l.size < k ? 'latest' : 'previous'} version (the privacy floor)`)
  }
  const paired = [...l.keys()].filter(id => p.has(id))
  let change: number
  let tails: { greater: number, less: number }
  if (paired.length >= RULE.minPairs) {
    // Latency is compared as log ratios (symmetric: twice as slow weighs as much as twice as fast).
    const effects = paired.map(id => latency ? (l.get(id) as number) / (p.get(id) as number) : ((l.get(id) as number) - (p.get(id) as number)) * 100)
    change = median(effects)
    tails = signedRank(latency ? effects.map(Math.log) : effects)
  } else if (l.size >= RULE.minGroup && p.size >= RULE.minGroup) {
    const a = median([...l.values()])
    const b = median([...p.values()])
    change = latency ? a / b : (a - b) * 100
    tails = rankSum([...l.values()], [...p.values()])
  } else {
    return none(`not enough installations to compare: ${paired.length} ran both versions (${RULE.minPairs} needed), ` +
      `${l.size} and ${p.size} ran one (${RULE.minGroup} needed on each side)`)
  }
  const test = paired.length >= RULE.minPairs ? 'paired' : 'unpaired'
  const significant = { worse: tails.greater < RULE.alpha, better: tails.less < RULE.alpha }
  return {
    comparison: { ...base, change, test, pairs: test === 'paired' ? paired.length : 0, p: { worse: tails.greater, better: tails.less }, reason: null },
    worse: significant.worse && (latency ? change >= RULE.minLatencyRatio : change >= RULE.minErrorRatePoints),
    better: significant.better && (latency ? change <= 1 / RULE.minLatencyRatio : change <= -RULE.minErrorRatePoints)
  }
}
