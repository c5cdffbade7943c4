import { proveRule } from './helpers/synthetic-fleets'

// The release rule proven at its own level on synthetic per-installation fleets (the model is described in
// helpers/synthetic-fleets.ts), seeded. `npm run proof:rule -w collector` prints the figures.
proveRule({ paired: true, installations: 20, rows: 30 }, 'paired (20 installations ran both versions)', (t, slower, errors) => {
  t.ok(slower.slower / slower.fleets >= 0.95)
  t.ok(errors.moreErrors / errors.fleets >= 0.5)
})
