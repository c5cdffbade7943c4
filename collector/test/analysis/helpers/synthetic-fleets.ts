// Synthetic per-installation data for proving the release rule (release-rule.ts) at its own level: what each
// installation's merged histogram would give, drawn from a model with known effects, without the events.
//
// The model, per endpoint × method (a row) and installation:
// - latencies log-normal: log-median N(log 40 ms, 0.7), log-spread U(0.4, 1.0) (installations differ a lot);
// - responses per version log-normal, median 2 500, log-sd 1.3 (about 1 % under 100, a quarter under 1 000);
// - each version's period shifts the installation's latencies by a log-factor N(0, 0.1), and one period in 20 is
//   disturbed (a noisy neighbour, a slow database) by a further N(0, 0.5);
// - a percentile is read with the sampling error of a quantile of that many responses;
// - the 5xx rate: log-normal, median 0.5 %, log-sd 1.0 across installations, times a log-factor N(0, 0.5) per
//   period; one period in 50 is broken (50 % errors); errors are a binomial draw of the responses.
// The effects multiply the latest version's latencies (slower) or 5xx rate (errors), for every installation.
import { test, type Test } from 'tap'
import type { InstallationFigures } from '../../../lib/analysis/report/release-rule'
import { compareRows } from '../../../lib/analysis/report/release-rule'
import { generator } from '../../../lib/analysis/simulate'

export interface Design {
  /** paired: every installation runs both versions; unpaired: half run only the previous, half only the latest. */
  paired: boolean
  installations: number
  rows: number
}
export interface Effect { slower?: number, errors?: number }
/** How much an installation's own latencies move between the two versions' periods with no effect (log-sd), and how often a period is disturbed. */
export interface Noise { drift: number, disturbed: number }
export const NOISE: Noise = { drift: 0.1, disturbed: 0.05 }

const Z = { p50: 0, p95: 1.6448536, p99: 2.3263479 }

function normal (random: () => number): number {
  return Math.sqrt(-2 * Math.log(1 - random())) * Math.cos(2 * Math.PI * random())
}

function binomial (random: () => number, n: number, p: number): number {
  const mean = n * p
  if (mean >= 20) return Math.max(0, Math.min(n, Math.round(mean + Math.sqrt(mean * (1 - p)) * normal(random))))
  // Poisson by inversion: close to the binomial for a small mean.
  let k = 0
  let product = random()
  const limit = Math.exp(-mean)
  while (product > limit) { k++; product *= random() }
  return Math.min(n, k)
}

interface Site { mu: number, sigma: number, rate: number }

function period (random: () => number, site: Site, effect: Effect, noise: Noise): InstallationFigures {
  const responses = Math.max(1, Math.round(Math.exp(Math.log(2500) + 1.3 * normal(random))))
  const shift = noise.drift * normal(random) + (random() < noise.disturbed ? 0.5 * normal(random) : 0) + Math.log(effect.slower ?? 1)
  const at = (p: number, z: number): number => {
    const density = Math.exp(-z * z / 2) / Math.sqrt(2 * Math.PI)
    return Math.exp(site.mu + shift + site.sigma * (z + Math.sqrt(p * (1 - p) / responses) / density * normal(random)))
  }
  const rate = random() < 0.02 ? 0.5 : Math.min(1, site.rate * Math.exp(0.5 * normal(random)) * (effect.errors ?? 1))
  return { responses, p50: at(0.5, Z.p50), p95: at(0.95, Z.p95), p99: at(0.99, Z.p99), errorRate: binomial(random, responses, rate) / responses }
}

/** One row: the installations of each version that use it (each does with probability 0.85). */
export function syntheticRow (random: () => number, design: Design, effect: Effect = {}, noise = NOISE): { latest: Map<string, InstallationFigures>, previous: Map<string, InstallationFigures> } {
  const latest = new Map<string, InstallationFigures>()
  const previous = new Map<string, InstallationFigures>()
  for (let i = 0; i < design.installations; i++) {
    if (random() >= 0.85) continue
    const site = { mu: Math.log(40) + 0.7 * normal(random), sigma: 0.4 + 0.6 * random(), rate: Math.min(0.5, 0.005 * Math.exp(normal(random))) }
    const id = `installation-${i}`
    if (design.paired || i % 2 === 0) previous.set(id, period(random, site, {}, noise))
    if (design.paired || i % 2 === 1) latest.set(id, period(random, site, effect, noise))
  }
  return { latest, previous }
}

export interface NullResult { fleets: number, flagged: number, marked: number, tests: number, belowAlpha: number }

/**
 * `fleets` fleets of `design.rows` rows with no effect, each compared whole under the rule at floor k: how many
 * fleets got any row marked worse (flagged) or marked either way; over all tests run, how many had a p (worse)
 * below the level of its test.
 */
export function nullFleets (seed: number, fleets: number, design: Design, noise = NOISE, k = 5): NullResult {
  const random = generator(seed)
  const result: NullResult = { fleets, flagged: 0, marked: 0, tests: 0, belowAlpha: 0 }
  for (let f = 0; f < fleets; f++) {
    const { rule, rows } = compareRows(Array.from({ length: design.rows }, () => syntheticRow(random, design, {}, noise)), k)
    for (const m of rows.flatMap(r => Object.values(r.measures))) {
      if (m.p === null) continue
      result.tests++
      if (m.p.worse < (m.test === 'paired' ? rule.alpha : rule.unpairedAlpha)) result.belowAlpha++
    }
    const any = (which: 'regression' | 'improvement'): boolean => rows.some(r => Object.values(r[which]).some(Boolean))
    if (any('regression')) result.flagged++
    if (any('regression') || any('improvement')) result.marked++
  }
  return result
}

/**
 * Of `fleets` fleets of `design.rows` rows, the first with `effect`: how often that row was marked slower (any
 * percentile) or with more 5xx.
 */
export interface Detection { fleets: number, slower: number, moreErrors: number }
export function detection (seed: number, fleets: number, design: Design, effect: Effect, noise = NOISE, k = 5): Detection {
  const random = generator(seed)
  const result = { fleets, slower: 0, moreErrors: 0 }
  for (let f = 0; f < fleets; f++) {
    const { rows: [row] } = compareRows(Array.from({ length: design.rows }, (_, i) => syntheticRow(random, design, i === 0 ? effect : {}, noise)), k)
    if (row.regression.p50 || row.regression.p95 || row.regression.p99) result.slower++
    if (row.regression.errorRate) result.moreErrors++
  }
  return result
}

/** Wilson's 95 % interval of a proportion x / n. */
export function wilson (x: number, n: number): [number, number] {
  const z = 1.959964
  const p = x / n
  const centre = (p + z * z / (2 * n)) / (1 + z * z / n)
  const half = z * Math.sqrt(p * (1 - p) / n + z * z / (4 * n * n)) / (1 + z * z / n)
  return [Math.max(0, centre - half), Math.min(1, centre + half)]
}

const pct = (x: number): string => `${Number((100 * x).toPrecision(3))} %`

/** "0.15 % (3 of 2000; 95 % interval 0.0511–0.441 %)" */
export function percent (x: number, n: number): string {
  const [low, high] = wilson(x, n)
  return `${pct(x / n)} (${x} of ${n}; 95 % interval ${pct(low)}–${pct(high)})`
}

/**
 * The rule proven for one design, seeded: 2 000 null fleets of 30 rows × 4 measures flag at most 5 % (at the upper end
 * of the 95 % interval); 1 000 fleets whose first row is 60 % slower, and 1 000 with a 4× 5xx rate, are found as
 * `detected` asserts. Each test prints its figures for `npm run proof:rule -w collector`.
 */
export function proveRule (design: Design, name: string, detected: (t: Test, slower: Detection, errors: Detection) => void): void {
  test('null fleets: at most 5 % flagged, even at the upper end of the 95 % interval', async t => {
    const result = nullFleets(1, 2000, design)
    t.comment(`rule proof, ${name}: null fleets flagged (a row marked worse) ${percent(result.flagged, result.fleets)}; ` +
      `marked either way ${percent(result.marked, result.fleets)}; tests with p below their level ${percent(result.belowAlpha, result.tests)}`)
    t.ok(wilson(result.flagged, result.fleets)[1] <= 0.05)
  })

  test('detection of a 60 % slowdown and of a 4× 5xx rate on one row of 30', async t => {
    const slower = detection(2, 1000, design, { slower: 1.6 })
    const errors = detection(3, 1000, design, { errors: 4 })
    t.comment(`rule proof, ${name}: detected 60 % slower ${percent(slower.slower, slower.fleets)}; 4× 5xx ${percent(errors.moreErrors, errors.fleets)}`)
    detected(t, slower, errors)
  })
}
