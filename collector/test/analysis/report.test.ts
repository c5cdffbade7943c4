import { readFileSync } from 'node:fs'
import { join } from 'node:path'
import Ajv from 'ajv'
import addFormats from 'ajv-formats'
import { test } from 'tap'
import { buildReport } from '../../lib/analysis/report/report'
import { bucketsWith, createFleetDb, mergeFleets, uniformFleet, type FleetSpec, type TrafficSpec } from './helpers/fleet-db'
import { reportOf } from './helpers/report'

const schema = JSON.parse(readFileSync(join(__dirname, '..', '..', 'schema', 'stats', 'stats.v2.json'), 'utf8'))
const validate = addFormats(new Ajv({ allErrors: true, strict: false })).compile(schema)

// 8 installations on 1.0.0 (days 1 and 2), 7 of them upgrade on day 2 to 1.1.0 (same installations, new
// instances), which is slower on GET /items (bucket 7 instead of 4) and answers 503 to half its requests.
function release (): FleetSpec {
  const old = uniformFleet(8, { prefix: 'x', version: '1.0.0', days: ['2026-01-01', '2026-01-02'], traffic: [{ endpoint: '/items', method: 'GET', requests: 1000 }, { endpoint: '/items', method: 'POST', requests: 200 }] })
  const upgraded = uniformFleet(7, {
    prefix: 'x',
    version: '1.1.0',
    days: ['2026-01-02'],
    traffic: [{ endpoint: '/items', method: 'GET', requests: 1000, status: { 200: 500, 503: 500 }, latency: bucketsWith([7, 1000]) }, { endpoint: '/items', method: 'POST', requests: 200 }]
  })
  for (const i of upgraded.instances) i.instanceId += '-new'
  for (const r of upgraded.reports) { r.instanceId += '-new'; r.reportId += '-new' }
  return mergeFleets(old, upgraded)
}

test('stats.json validates against its JSON Schema (schema/stats/stats.v2.json)', async t => {
  const { stats } = await reportOf(t, release())
  t.equal(validate(stats), true, JSON.stringify(validate.errors))
  t.equal(stats.schemaVersion, 2)
  t.equal(schema.title, 'stats.json, schemaVersion 2')
})

test('active installations and instances per day', async t => {
  const { stats } = await reportOf(t, release())
  t.same(stats.activity, [{ day: '2026-01-01', installations: 8, instances: 8 }, { day: '2026-01-02', installations: 8, instances: 15 }])
  t.same(stats.fleet, { installations: 8, instances: 15, requests: 8 * 1200 * 2 + 7 * 1200 })
})

test('version adoption: an installation that ran two versions in a day counts for the newer', async t => {
  const { stats } = await reportOf(t, release())
  t.same(stats.versions.rows.map(v => v.version), ['1.0.0', '1.1.0'])
  t.same(stats.adoption[1].shares, [{ version: '1.0.0', installations: null, share: null }, { version: '1.1.0', installations: 7, share: 7 / 8 }])
  t.same(stats.adoption[0].shares[0], { version: '1.0.0', installations: 8, share: 1 })
})

test('platform distributions count installations', async t => {
  const { stats } = await reportOf(t, mergeFleets(uniformFleet(5, { prefix: 'l' }), uniformFleet(5, { prefix: 'd', os: 'darwin' }), uniformFleet(1, { prefix: 'w', os: 'win32' })))
  t.same(stats.platform.os, { installations: 11, rows: [{ value: 'darwin', installations: 5, share: 5 / 11 }, { value: 'linux', installations: 5, share: 5 / 11 }], belowFloor: 1 })
  t.same(stats.platform.numCpu.rows, [{ value: '2', installations: 11, share: 1 }])
})

test('endpoint usage, requests per day and method mix', async t => {
  const { stats } = await reportOf(t, release())
  t.same(stats.endpoints.usage.rows, [{ endpoint: '/items', installations: 8, share: 1, requests: 27600 }])
  t.same(stats.endpoints.requestsPerDay, [{ day: '2026-01-01', installations: 8, requests: 9600 }, { day: '2026-01-02', installations: 8, requests: 18000 }])
  t.same(stats.endpoints.methods.rows, [{ method: 'GET', installations: 8, requests: 23000, share: 23000 / 27600 }, { method: 'POST', installations: 8, requests: 4600, share: 4600 / 27600 }])
})

test('release comparison: latest against previous, with installations behind each side and regressions marked', async t => {
  const { stats, html } = await reportOf(t, release())
  const c = stats.comparison
  t.equal(c.latest, '1.1.0')
  t.equal(c.previous, '1.0.0')
  const get = c.rows.find(r => r.method === 'GET') as typeof c.rows[number]
  t.same([get.latest?.installations, get.previous?.installations], [7, 8])
  t.same([get.latest?.p50?.bucket, get.previous?.p50?.bucket], [7, 4])
  t.equal(get.latest?.errorRate, 0.5)
  t.same(get.regression, { p50: true, p95: true, p99: true, errorRate: true })
  // The 7 installations that upgraded are paired (every one slower: p = 1/128).
  t.same([get.measures.p50.test, get.measures.p50.pairs, get.measures.p50.installations, get.measures.p50.p?.worse], ['paired', 7, { latest: 7, previous: 8 }, 1 / 128])
  t.equal(get.measures.errorRate.change, 50)
  t.same(c.summary, { slower: [{ endpoint: '/items', method: 'GET' }], moreErrors: [{ endpoint: '/items', method: 'GET' }], faster: [], fewerErrors: [] })
  const post = c.rows.find(r => r.method === 'POST') as typeof c.rows[number]
  t.same(post.regression, { p50: false, p95: false, p99: false, errorRate: false })
  t.match(html, /<tr id="row-1"><td><strong>GET \/items<\/strong>[\s\S]*?<span class="worse">\+[\d.,]+ % ▲<\/span>/)
})

test('rows marked worse come first, then those marked better; the summary names each (open top bucket counts as 10 s)', async t => {
  const row = (endpoint: string, bucket: number, status: Record<string, number> = { 200: 200 }): TrafficSpec => ({ endpoint, method: 'GET', requests: 200, status, latency: bucketsWith([bucket, 200]) })
  const before = uniformFleet(8, { prefix: 's', version: '1.0.0', days: ['2026-01-01'], traffic: [row('/same', 4), row('/fast', 6), row('/slow', 4), row('/fail-less', 4, { 200: 180, 500: 20 })] })
  const after = uniformFleet(8, { prefix: 's', version: '1.1.0', days: ['2026-01-02'], traffic: [row('/same', 4), row('/fast', 4), row('/slow', 13), row('/fail-less', 4)] })
  for (const i of after.instances) i.instanceId += '-new'
  for (const r of after.reports) { r.instanceId += '-new'; r.reportId += '-new' }
  const { stats } = await reportOf(t, mergeFleets(before, after))
  const c = stats.comparison
  t.same(c.rows.map(r => r.endpoint), ['/slow', '/fail-less', '/fast', '/same'])
  t.same(c.summary, { slower: [{ endpoint: '/slow', method: 'GET' }], moreErrors: [], faster: [{ endpoint: '/fast', method: 'GET' }], fewerErrors: [{ endpoint: '/fail-less', method: 'GET' }] })
  t.equal(c.rows[0].measures.p50.latest, 10000)
  t.equal(c.rows[1].measures.errorRate.change, -10)
})

test('memory by version: each installation counts once (median of its reports), then p50/p95', async t => {
  const { stats } = await reportOf(t, uniformFleet(5, { days: ['2026-01-01', '2026-01-02'] }))
  // rss per installation 100, 101, 102, 103, 104 MB: p50 102 MB, p95 103.8 MB.
  t.same(stats.memory.rows, [{ version: '1.0.0', installations: 5, rss: { p50: 102e6, p95: 103.8e6 }, heapUsed: { p50: 22e6, p95: 23.8e6 } }])
})

test('one version only: no previous, and the summary says the comparison needs two', async t => {
  const { stats, summary, html } = await reportOf(t, uniformFleet(5))
  t.equal(stats.comparison.previous, null)
  t.equal(stats.comparison.rows[0].previous, null)
  t.match(summary[2], /needs two versions/)
  t.match(html, /1\.0\.0: no previous release yet/)
})

test('the summary is three lines: fleet, traffic, release', async t => {
  const { summary } = await reportOf(t, release())
  t.same(summary, [
    'installations: 8, instances: 15, days: 2 (privacy floor 5)',
    'requests: 27600 over 1 endpoints shown',
    'release 1.1.0 against 1.0.0, 2 endpoint rows: 1 slower (GET /items), 1 with more 5xx (GET /items), 0 faster, 0 with fewer 5xx; 0 not compared (too few installations)'
  ])
})

test('an empty database gives an empty, valid report', async t => {
  const { stats, html } = await reportOf(t, { instances: [], reports: [] })
  t.equal(validate(stats), true, JSON.stringify(validate.errors))
  t.same(stats.period, { from: null, to: null, days: null })
  t.match(html, /No activity yet/)
})

test('bad options and a missing database fail with errors naming them', async t => {
  const dir = t.testdir()
  await t.rejects(buildReport(join(dir, 'none.duckdb'), dir), { code: 'FST_TELEMETRY_COLLECTOR_NO_DATABASE', message: /--db/ })
  await createFleetDb(join(dir, 'fleet.duckdb'), uniformFleet(1))
  for (const k of [0, 1.5, Number.NaN]) {
    await t.rejects(buildReport(join(dir, 'fleet.duckdb'), dir, { minInstallations: k }), { code: 'FST_TELEMETRY_COLLECTOR_MIN_INSTALLATIONS', message: /--min-installations/ })
  }
})

test('a row without latency samples shows no percentile and no chart; a pair below the floor is only counted', async t => {
  const fleet = uniformFleet(5, { traffic: [{ endpoint: '/upload', method: 'PUT', requests: 3, latency: bucketsWith() }] })
  fleet.reports[0].traffic = [...fleet.reports[0].traffic, { endpoint: '/rare', method: 'GET', requests: 1 }]
  const { stats, html } = await reportOf(t, fleet)
  t.same(stats.comparison.rows.map(r => [r.endpoint, r.latest?.p50]), [['/upload', null]])
  t.equal(stats.comparison.belowFloor, 1)
  t.match(html, /1 more pair of endpoint and method seen at fewer than 5 installations/)
  t.match(html, /<td>5<\/td><td>–<\/td><td>–<\/td><td>–<\/td>/)
  t.notMatch(html, /p95 latency per endpoint and method/)
})
