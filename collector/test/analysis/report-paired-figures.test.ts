import { test } from 'tap'
import { bucketsWith, mergeFleets, uniformFleet, type TrafficSpec } from './helpers/fleet-db'
import { reportOf } from './helpers/report'

const DAYS = ['2026-01-01', '2026-01-02', '2026-01-03']
const files = (bucket: number, errors = 0): TrafficSpec[] =>
  [{ endpoint: '/files', method: 'GET', requests: 200, status: { 200: 200 - errors, 500: errors }, latency: bucketsWith([bucket, 200]) }]

/**
 * GET /files as on a real fleet. 8 installations ran 1.0.0 (days 1–2), then 1.1.0 (day 3), and got slower (10–25 ms
 * to 25–50 ms) and fail 5 % of requests (none before). 8 others are new on 1.1.0, fast (1–2.5 ms) and without errors;
 * 8 stayed on 1.0.0, slow (100–250 ms) and failing 20 %. Over every installation of each version, 1.1.0 looks faster
 * (median p95 25.6 ms against 133 ms) with fewer 5xx (2.5 % against 10 %); the 8 pairs say slower, with more 5xx.
 */
function fleet () {
  const paired = uniformFleet(8, { prefix: 'p', version: '1.0.0', days: DAYS.slice(0, 2), traffic: files(4) })
  const upgraded = uniformFleet(8, { prefix: 'p', version: '1.1.0', days: DAYS.slice(2), traffic: files(5, 10) })
  for (const i of upgraded.instances) i.instanceId += '-new'
  for (const r of upgraded.reports) { r.instanceId += '-new'; r.reportId += '-new' }
  const newcomers = uniformFleet(8, { prefix: 'n', version: '1.1.0', days: DAYS.slice(2), traffic: files(1) })
  const stayed = uniformFleet(8, { prefix: 's', version: '1.0.0', days: DAYS, traffic: files(7, 40) })
  return mergeFleets(paired, upgraded, newcomers, stayed)
}

test('a paired measure shows the pairs\' figures: cells and charts agree with the verdict when the whole sides do not', async t => {
  const { stats, html } = await reportOf(t, fleet())
  const [row] = stats.comparison.rows
  t.ok((row.latest?.p95?.ms as number) < (row.previous?.p95?.ms as number), 'pooled over all installations, 1.1.0 looks faster')
  t.same(stats.comparison.summary, { slower: [{ endpoint: '/files', method: 'GET' }], moreErrors: [{ endpoint: '/files', method: 'GET' }], faster: [], fewerErrors: [] })
  const p95 = row.measures.p95
  t.same([p95.test, p95.pairs, p95.installations, p95.previous, p95.latest], ['paired', 8, { latest: 16, previous: 16 }, 24.25, 48.75])
  t.ok(Math.abs((p95.change as number) - 48.75 / 24.25) < 1e-9)
  const errors = row.measures.errorRate
  t.same([errors.test, errors.previous, errors.latest, errors.change], ['paired', 0, 0.05, 5])
  const headline = (/<p class="headline" id="headline">([\s\S]*?)<\/p>/.exec(html) as RegExpExecArray)[1].replace(/<[^>]+>/g, '')
  t.match(headline, '1.1.0 against 1.0.0: 1 endpoint slower (GET /files), 1 with more server errors (GET /files), 0 faster / fewer errors')
  const cells = (/<tr id="row-1">[\s\S]*?<\/tr>/.exec(html) as RegExpExecArray)[0]
  t.match(cells, '<span class="worse">+101 % ▲</span><br><small>24.3 ms → 48.8 ms</small><br><small>8 pairs, p = 0.0039</small>')
  t.match(cells, '<span class="worse">+5 pt ▲</span><br><small>0.00 % → 5.00 %</small><br><small>8 pairs, p = 0.0039</small>')
  const [latency, fiveHundreds] = charts(html)
  t.same(latency, { latest: 507, previous: 252.2 }, 'the p95 bars: 1.1.0 twice as long as 1.0.0, as the pairs')
  t.ok(fiveHundreds.latest > 0 && fiveHundreds.previous === 0, 'the 5xx bars: 5 % against none, as the pairs')
})

/** The comparison's charts (drawn wide): the length of the first row's bar per version (series 0 the previous, 1 the latest). */
function charts (html: string): Array<{ latest: number, previous: number }> {
  const section = (/<section id="comparison">[\s\S]*?<\/section>/.exec(html) as RegExpExecArray)[0]
  return [...section.matchAll(/<svg class="wide"[\s\S]*?<\/svg>/g)].map(([svg]) => {
    const bar = (series: number): number => Number((new RegExp(`<path d="M[\\d.]+ [\\d.]+l([\\d.]+) 0[^"]*"[^>]*ecmeta_series_index="${series}" ecmeta_data_index="0" ecmeta_ssr_type="chart"`).exec(svg) as RegExpExecArray)[1])
    return { previous: bar(0), latest: bar(1) }
  })
}
