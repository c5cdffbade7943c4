import { test } from 'tap'
import { formatLatency, percentile } from '../../lib/analysis/report/percentiles'
import { bucketsWith } from './helpers/fleet-db'

test('an empty histogram has no percentile', async t => {
  t.equal(percentile(bucketsWith(), 0.5), null)
})

test('one bucket: the percentile is interpolated linearly between its bounds', async t => {
  // 10 samples in (10, 25] ms: rank 5 of 10 → 10 + 5/10 × 15 = 17.5 ms; rank 9.5 → 10 + 0.95 × 15 = 24.25 ms.
  t.same(percentile(bucketsWith([4, 10]), 0.5), { bucket: 4, ms: 17.5 })
  t.same(percentile(bucketsWith([4, 10]), 0.95), { bucket: 4, ms: 24.25 })
})

test('the first bucket starts at 0 ms', async t => {
  t.same(percentile(bucketsWith([0, 4]), 0.5), { bucket: 0, ms: 0.5 })
})

test('the rank is found across buckets, skipping empty ones', async t => {
  // 50 in (0, 1], 0 in (1, 2.5], 50 in (2.5, 5]: p50 is the top of bucket 0, p99 rank 99 → 2.5 + 49/50 × 2.5 = 4.95.
  const buckets = bucketsWith([0, 50], [2, 50])
  t.same(percentile(buckets, 0.5), { bucket: 0, ms: 1 })
  t.same(percentile(buckets, 0.99), { bucket: 2, ms: 4.95 })
})

test('a percentile in the open top bucket has no value and reads "> 10 s"', async t => {
  const buckets = bucketsWith([12, 90], [13, 10])
  const p95 = percentile(buckets, 0.95)
  t.same(p95, { bucket: 13, ms: null })
  t.equal(formatLatency(p95 as NonNullable<typeof p95>), '> 10 s')
  t.same(percentile(buckets, 0.9), { bucket: 12, ms: 10000 })
})

test('latencies read in ms below a second and in s above, three significant digits', async t => {
  t.equal(formatLatency({ bucket: 0, ms: 0.5 }), '0.5 ms')
  t.equal(formatLatency({ bucket: 4, ms: 24.25 }), '24.3 ms')
  t.equal(formatLatency({ bucket: 10, ms: 2500 }), '2.50 s')
})
