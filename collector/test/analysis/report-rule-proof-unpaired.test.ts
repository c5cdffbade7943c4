import { test } from 'tap'
import { detection, nullFleets, percent, wilson } from './helpers/synthetic-fleets'

// The release rule proven at its own level on synthetic per-installation fleets (the model is described in
// helpers/synthetic-fleets.ts), seeded: 2 000 fleets of 30 rows × 4 measures with no effect, and 1 000 fleets whose
// first row has the effect. `npm run proof:rule -w collector` prints the figures.
const DESIGN = { paired: false, installations: 20, rows: 30 }
const NAME = 'unpaired (10 installations ran only the previous version, 10 only the latest)'

test('null fleets: at most 5 % flagged, even at the upper end of the 95 % interval', async t => {
  const result = nullFleets(1, 2000, DESIGN)
  t.comment(`rule proof, ${NAME}: null fleets flagged (a row marked worse) ${percent(result.flagged, result.fleets)}; ` +
    `marked either way ${percent(result.marked, result.fleets)}; tests with p below their level ${percent(result.belowAlpha, result.tests)}`)
  t.ok(wilson(result.flagged, result.fleets)[1] <= 0.05)
})

test('detection of a 60 % slowdown and of a 4× 5xx rate on one row of 30', async t => {
  const slower = detection(2, 1000, DESIGN, { slower: 1.6 })
  const errors = detection(3, 1000, DESIGN, { errors: 4 })
  t.comment(`rule proof, ${NAME}: detected 60 % slower ${percent(slower.slower, slower.fleets)}; 4× 5xx ${percent(errors.moreErrors, errors.fleets)}`)
  // Between different installations (their latencies spread over a factor of 2) the evidence is weak: measured, not promised.
  t.ok(slower.slower < slower.fleets && errors.moreErrors < errors.fleets)
})
