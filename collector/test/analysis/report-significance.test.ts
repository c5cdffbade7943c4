import { test } from 'tap'
import { errorRateRegressed } from '../../lib/analysis/report/significance'

test('a clearly higher 5xx rate is a regression (z ≈ 5.2 > 2.326)', async t => {
  t.equal(errorRateRegressed(50, 1000, 10, 1000), true)
})

test('a small difference on few responses is not (z ≈ 0.58)', async t => {
  t.equal(errorRateRegressed(2, 100, 1, 100), false)
})

test('just past the threshold: 30/1000 against 15/1000 gives z ≈ 2.25, 32/1000 gives z ≈ 2.51', async t => {
  t.equal(errorRateRegressed(30, 1000, 15, 1000), false)
  t.equal(errorRateRegressed(32, 1000, 15, 1000), true)
})

test('a lower rate, no responses, or equal rates of 0 or 1 are never a regression', async t => {
  t.equal(errorRateRegressed(10, 1000, 50, 1000), false)
  t.equal(errorRateRegressed(5, 10, 0, 0), false)
  t.equal(errorRateRegressed(0, 0, 5, 10), false)
  t.equal(errorRateRegressed(0, 100, 0, 100), false)
  t.equal(errorRateRegressed(100, 100, 100, 100), false)
})
