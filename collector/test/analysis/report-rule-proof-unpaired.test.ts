import { proveRule } from './helpers/synthetic-fleets'

// The release rule proven at its own level on synthetic per-installation fleets (the model is described in
// helpers/synthetic-fleets.ts), seeded. `npm run proof:rule -w collector` prints the figures.
proveRule({ paired: false, installations: 20, rows: 30 }, 'unpaired (10 installations ran only the previous version, 10 only the latest)', (t, slower, errors) => {
  // Between different installations (their latencies spread over a factor of 2) the evidence is weak: measured, not promised.
  t.ok(slower.slower < slower.fleets && errors.moreErrors < errors.fleets)
})
