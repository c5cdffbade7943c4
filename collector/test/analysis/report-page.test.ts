import { test } from 'tap'
import { runAnalysisCommand } from '../../lib/analysis/cli'
import { buildReport } from '../../lib/analysis/report/report'
import { createFleetDb, mergeFleets, uniformFleet, type FleetSpec, type TrafficSpec } from './helpers/fleet-db'
import { reportOf } from './helpers/report'
import { DAYS, upgrade } from './helpers/upgrade-fleet'

const section = (html: string, id: string): string => (new RegExp(`<section id="${id}">[\\s\\S]*?</section>`).exec(html) as RegExpExecArray)[0]

test('the headline comes before any chart: what the release changed, each endpoint linked to its row', async t => {
  const { html, stats } = await reportOf(t, upgrade())
  const headline = (/<p class="headline" id="headline">([\s\S]*?)<\/p>/.exec(html) as RegExpExecArray)[1]
  t.ok(html.indexOf('id="headline"') < html.indexOf('<figure'), 'above the first chart')
  t.equal(headline.replace(/<[^>]+>/g, ''), '1.1.0 against 1.0.0: 1 endpoint slower (GET /items), 1 with more server errors (GET /items), ' +
    '1 faster / fewer errors (GET /fast), over 3 days (2026-01-01 to 2026-01-03), from 16 and 16 installations. ' +
    '1 endpoint not compared: not enough installations (fewer than 5 on a side, or too few with enough responses).')
  t.match(headline, '<a href="#row-1">GET /items</a>')
  t.match(headline, '<a href="#row-2">GET /fast</a>')
  t.same(stats.comparison.rows.slice(0, 2).map(r => `${r.method} ${r.endpoint}`), ['GET /items', 'GET /fast'], 'regressions first, then improvements')
  t.match(html, '<tr id="row-1"><td><strong>GET /items</strong>')
  t.match(html, '<tr id="row-2"><td><strong>GET /fast</strong>')
})

test('each comparison row: installations previous → latest, per measure the change, previous → latest and the test', async t => {
  const { html } = await reportOf(t, upgrade())
  const items = (/<tr id="row-1">[\s\S]*?<\/tr>/.exec(html) as RegExpExecArray)[0]
  t.match(items, '<td>16 → 16</td>')
  // Bucket 4 (10–25 ms) to bucket 7 (100–250 ms): each installation's p50 from 17.5 to 175 ms, ten times.
  t.match(items, '<span class="worse">+900 % ▲</span><br><small>17.5 ms → 175 ms</small><br><small>16 pairs, p &lt; 0.0001</small>')
  t.match(items, '<span class="worse">+5 pt ▲</span><br><small>0.00 % → 5.00 %</small>')
  t.match(html, /<tr id="row-2">[\s\S]*?<span class="better">−78\.6 % ▼<\/span><br><small>17\.5 ms → 3\.75 ms<\/small>/)
  t.match(html, /<td><strong>POST \/items<\/strong><\/td><td>16 → 16<\/td><td><span class="same">±0 %<\/span>/)
  // p99 needs 1,000 responses on a side: POST /items has 200 a day, so p99 is not compared (note 1 under the table).
  t.match(html, /<td><strong>POST \/items<\/strong>[\s\S]*?<td><span class="floor">not compared<sup>1<\/sup><\/span><\/td>/)
  t.match(html, /<td><strong>GET \/new<\/strong><\/td><td><span class="floor">fewer than 5<\/span> → 16<\/td>/)
  t.match(html, /<ol class="floor"><li>fewer than 5 installations with 1000 responses on the latest version/)
  t.match(section(html, 'comparison'), 'The unit is the installation.')
})

test('a 5xx chart and a p95 chart per endpoint, latest against previous, in the order of the rows', async t => {
  const { html } = await reportOf(t, upgrade())
  const comparison = section(html, 'comparison')
  t.match(comparison, /<figure class="chart">[\s\S]*?p95 latency per endpoint and method/)
  t.match(comparison, /<figure class="chart">[\s\S]*?5xx rate per endpoint and method/)
  t.equal((comparison.match(/<figure class="chart">/g) as string[]).length, 2)
})

test('groups too small to pair are compared unpaired', async t => {
  // 6 installations stay on 1.0.0, 5 others run 1.1.0: no pair.
  const traffic: TrafficSpec[] = [{ endpoint: '/items', method: 'GET', requests: 200 }]
  const { html } = await reportOf(t, mergeFleets(uniformFleet(6, { prefix: 'o', traffic }), uniformFleet(5, { prefix: 'n', version: '1.1.0', traffic })))
  t.match(html, /<small>groups 6 → 5, p = [\d.]+<\/small>/)
})

test('with one version: "no previous release yet", no "fewer than" cell, one series per chart', async t => {
  const { html } = await reportOf(t, uniformFleet(5, { traffic: [{ endpoint: '/items', method: 'GET', requests: 200 }] }))
  t.match(html, /<p class="headline" id="headline">1\.0\.0: no previous release yet, over 1 day \(<span class="day">2026-01-01<\/span>\), from 5 installations\.<\/p>/)
  const comparison = section(html, 'comparison')
  t.notMatch(comparison, 'fewer than')
  t.match(comparison, '<th>installations<br>1.0.0</th>')
  t.match(comparison, /<td><strong>GET \/items<\/strong><\/td><td>5<\/td><td>17\.5 ms<\/td>/)
  t.notMatch(comparison, /ecmeta_ssr_type="legend"/, 'a single series needs no legend')
})

test('when the floor hides a side, the headline says so', async t => {
  const { html } = await reportOf(t, mergeFleets(uniformFleet(6), uniformFleet(2, { prefix: 'n', version: '2.0.0' })))
  t.match(html, '1.0.0: not enough installations to compare (fewer than 5 on every other version), over 1 day')
  const { html: none } = await reportOf(t, uniformFleet(6), 7)
  t.match(none, 'Not enough installations to compare releases (fewer than 7 on every version), over 1 day')
})

// Day 1: 10 installations on 1.0.0. Day 2: 3 more on 1.1.0 (below the floor that day). Day 3: 3 more on 1.1.0
// (6: above it) and 2 on 9.0.0 (below the floor everywhere).
function adoptionFleet (): FleetSpec {
  return mergeFleets(
    uniformFleet(10, { prefix: 'a', days: DAYS }),
    uniformFleet(3, { prefix: 'b', version: '1.1.0', days: DAYS.slice(1) }),
    uniformFleet(3, { prefix: 'c', version: '1.1.0', days: DAYS.slice(2) }),
    uniformFleet(2, { prefix: 'z', version: '9.0.0', days: DAYS.slice(2) })
  )
}

test('version adoption adds up: each day the shares and "other" sum to 1', async t => {
  const { stats } = await reportOf(t, adoptionFleet())
  t.same(stats.adoption.map(a => [a.installations, a.shares.map(s => s.share), a.other]), [
    [10, [1, null], { installations: null, share: 0 }],
    [13, [10 / 13, null], { installations: null, share: 3 / 13 }],
    [18, [10 / 18, 6 / 18], { installations: null, share: 2 / 18 }]
  ])
  for (const day of stats.adoption) {
    t.equal(Math.abs(day.shares.reduce((sum, s) => sum + (s.share ?? 0), 0) + (day.other.share as number) - 1) < 1e-9, true, `${day.day} adds up to 1`)
  }
})

test('version adoption is a 100 % stacked column per day with "other" in grey; a day below the floor is a band of its own', async t => {
  const { html } = await reportOf(t, mergeFleets(adoptionFleet(), uniformFleet(2, { prefix: 'y', days: ['2026-01-04'] })))
  const versions = section(html, 'versions')
  t.match(versions, 'other versions (each fewer than 5 installations that day)')
  t.match(versions, 'fewer than 5 installations active that day')
  t.match(versions, 'adding up to 100 %')
  t.match(versions, '100 %</text>')
})

test('--title names the project in the heading, the <title>, the headline and stats.json', async t => {
  const { html, stats } = await reportOf(t, upgrade(), { title: '  Shop <API> ' })
  t.equal(stats.title, 'Shop <API>')
  t.match(html, '<title>Shop &lt;API&gt;: fleet statistics</title>')
  t.match(html, '<h1>Shop &lt;API&gt;: fleet statistics</h1>')
  t.match(html, '<p class="headline" id="headline">Shop &lt;API&gt; 1.1.0 against 1.0.0:')
  const { html: untitled, stats: none } = await reportOf(t, uniformFleet(5))
  t.equal(none.title, null)
  t.match(untitled, '<h1>Fleet statistics</h1>')
})

test('numbers carry thousands separators', async t => {
  const { html } = await reportOf(t, upgrade())
  t.match(html, 'requests counted: 94,400')
  t.match(html, '<td>GET</td><td>16</td><td>84,800</td>')
})

test('--days keeps the last n days, the release comparison included', async t => {
  const { stats, html } = await reportOf(t, upgrade(), { days: 2 })
  t.same(stats.period, { from: '2026-01-02', to: '2026-01-03', days: 2 })
  t.same(stats.activity.map(a => a.day), ['2026-01-02', '2026-01-03'])
  t.equal(stats.fleet.requests, 16 * 1900 + 16 * 2100)
  t.same(stats.comparison.rows.map(r => [r.endpoint, r.previous?.requests]).slice(0, 1), [['/items', 16 * 1500]])
  t.match(html, 'over the last 2 days (<span class="day">2026-01-02</span> to <span class="day">2026-01-03</span>)')
  const { stats: last, html: one } = await reportOf(t, upgrade(), { days: 1 })
  t.same([last.period, last.comparison.latest, last.comparison.previous], [{ from: '2026-01-03', to: '2026-01-03', days: 1 }, '1.1.0', null])
  t.match(one, '1.1.0: no previous release yet, over the last 1 day')
  const { stats: all } = await reportOf(t, upgrade(), { days: 30 })
  t.same(all.period, { from: '2026-01-01', to: '2026-01-03', days: 30 }, 'a window longer than the data starts at the first day')
})

test('a single day is drawn as bars, not as a lone point on empty axes', async t => {
  const { html } = await reportOf(t, uniformFleet(5))
  const activity = section(html, 'activity')
  t.match(activity, /<path d="M[\d.]+ [\d.]+l[\d.]+ 0l0 -[\d.]+l-[\d.]+ 0Z"[^>]*ecmeta_ssr_type="chart"/)
  t.notMatch(activity, 'stroke-linejoin="bevel"', 'no line')
})

test('each chart is drawn at two widths, the narrow one for phones; tables scroll inside their own box', async t => {
  const { html } = await reportOf(t, uniformFleet(5))
  t.equal(html.match(/<svg class="wide"/g)?.length, html.match(/<svg class="narrow"/g)?.length)
  t.match(html, '@media (max-width: 640px)')
  t.equal(html.match(/<table/g)?.length, html.match(/<div class="scroll"><table/g)?.length)
})

test('a bad --title or --days is refused, naming the flag', async t => {
  const dir = t.testdir()
  const db = `${dir}/fleet.duckdb`
  await createFleetDb(db, uniformFleet(1))
  for (const title of ['', '  ', 'x'.repeat(101), 'a\nb']) {
    await t.rejects(buildReport(db, dir, { title }), { code: 'FST_TELEMETRY_COLLECTOR_TITLE', message: /--title/ })
  }
  for (const days of [0, 1.5]) {
    await t.rejects(buildReport(db, dir, { days }), { code: 'FST_TELEMETRY_COLLECTOR_DAYS', message: /--days/ })
  }
  const err = { text: '', write (text: string) { this.text += text; return true } }
  const out = { write: () => true }
  t.equal(await runAnalysisCommand('report', ['--db', db, '--out', dir, '--days', '0'], { out, err }), 2)
  t.match(err.text, '--days')
  t.equal(await runAnalysisCommand('report', ['--db', db, '--out', dir, '--title', '', '--min-installations', '1'], { out, err }), 2)
  t.equal(await runAnalysisCommand('report', ['--db', db, '--out', dir, '--title', 'Shop', '--days', '7', '--min-installations', '1'], { out, err }), 0)
})
