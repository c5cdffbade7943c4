import { mkdirSync, readFileSync, writeFileSync } from 'node:fs'
import { join } from 'node:path'
import { gzipSync } from 'node:zlib'
import { DuckDBInstance } from '@duckdb/node-api'
import { test } from 'tap'
import { runAnalysisCommand } from '../../lib/analysis/cli'
import type { Counter, LatencyFigure, Side, Stats } from '../../lib/analysis/report/stats-types'
import { readEvents } from '../../lib/index'
import { loadPlugin } from '../helpers/plugin'
import { ENDPOINTS, FEATURES, FleetApp, keyOf, type PluginSnapshot, type Tally } from './helpers/fleet-app'
import { startReceiver, type Batch, type Event, type Receiver } from './helpers/receiver'

// Ground truth, end to end: six installations running the real plugin over real sockets, the real receiver, then
// `ingest` and `report` as a maintainer runs them. Every total the page publishes must equal what this test sent.

const WRITE_KEY = 'gt-write-key-5d41402abc4b2a76'
const OLD = '31.4.1'
const NEW = '31.5.0'
/** Upper bounds (ms) of the plugin's latency buckets, then the open top bucket: taken from the plugin itself. */
const { LATENCY_BOUNDS_MS } = loadPlugin() as unknown as { LATENCY_BOUNDS_MS: readonly number[] }
/** Enough endpoints that every report of the app serving them passes 32 KB and is split into parts. */
const RESOURCES = Array.from({ length: 200 }, (_, i) => `/gt-r-${String(i).padStart(3, '0')}`)

/** One instance as the test saw it: its installation, its app version, what was sent, the plugin's final counters. */
interface Lived { installation: string, version: string, app: FleetApp, final: PluginSnapshot }

function sink (): { write (text: string): boolean, text: string } {
  return { text: '', write (text) { this.text += text; return true } }
}

const isReport = (event: Event, instanceId: string): boolean => event.event === 'telemetry' && event.properties.instanceId === instanceId
/** A stored or refused report (its first part carries the totals) of `instanceId` counting at least `requests`. */
const covers = (batch: Batch, instanceId: string, requests: number): boolean =>
  batch.events.some(e => isReport(e, instanceId) && e.properties.part === 1 && e.properties.requests >= requests)

/** The same mix in every app, sized by `i` so that installations differ: seven endpoints, five methods, seven codes. */
async function everydayTraffic (app: FleetApp, i: number): Promise<void> {
  const plan: Array<[string, string, string?]> = []
  // Handlers that take a while, so that latencies spread over several buckets.
  for (const ms of [3, 12, 30, 60 + i]) plan.push(['GET', `/gt-slow?ms=${ms}`])
  for (let n = 0; n < 3 + i; n++) plan.push(['GET', '/gt-orders'])
  plan.push(['POST', '/gt-orders'], ['POST', '/gt-orders'], ['DELETE', '/gt-items'], ['GET', '/gt-fail'])
  for (let n = 0; n < 1 + i % 2; n++) plan.push(['PUT', '/gt-items'])
  if (i % 2 === 1) plan.push(['POST', '/gt-fail'])
  // No route serves these: the plugin counts them under `/`.
  plan.push(['GET', '/gt-nowhere', '/'], ['GET', '/gt-orders/7', '/'])
  await Promise.all(plan.map(async ([method, path, endpoint]) => await app.send(method, path, endpoint)))
}

/**
 * An installation: its app version (`then`: restarted on that version), a size `i` for its traffic, extra
 * endpoints, extra traffic, whether the receiver is down when its mid-life report comes (`loses`), and per life
 * the storage fact it sets and the uses it counts in each phase.
 */
interface Role { installation: string, version: string, i: number, then?: string, extra?: string[], special?: (app: FleetApp) => Promise<void>, loses?: true, features: Array<[storage: string, uses: Record<string, number>]> }

/**
 * An instance's life: traffic, a report that covers it (or, for the lossy one, that report refused with a 503 by
 * a receiver that is down at that moment), more traffic, then close(), which delivers the final report.
 */
async function live (receiver: Receiver, role: Role, version: string, lost: Batch[]): Promise<Lived> {
  const app = await FleetApp.start({ writeKey: WRITE_KEY, host: receiver.url, issuerUrl: `https://${role.installation}.example.com/`, version, extra: role.extra })
  const [storage, uses] = role.features[version === role.version ? 0 : 1]
  app.fact('storage', storage)
  const phase = async (): Promise<void> => {
    for (const [name, n] of Object.entries(uses)) app.use(name, n)
    await everydayTraffic(app, role.i)
    await role.special?.(app)
    await app.settled()
  }
  await phase()
  const covered = app.sent
  const what = `a report of ${role.installation} (${version}) covering its first ${covered} requests`
  if (role.loses === true) lost.push(await receiver.refuseNext(what, batch => covers(batch, app.instanceId, covered)))
  else await receiver.until(what, accepted => accepted.some(batch => covers(batch, app.instanceId, covered)))
  await phase()
  const final = app.snapshot()
  await app.close()
  return { installation: role.installation, version, app, final }
}

const ROLES: Role[] = [
  { installation: 'plain', version: OLD, i: 0, features: [['postgres', { exports: 3 }]] },
  { installation: 'websockets', version: OLD, i: 1, special: async app => { for (let n = 0; n < 3; n++) await app.websocket() }, features: [['postgres', { exports: 1, imports: 2 }]] },
  // Its lost report carried uses too: the counts are cumulative, so the next report delivers them.
  { installation: 'lossy', version: OLD, i: 2, loses: true, features: [['sqlite', { exports: 2 }]] },
  {
    installation: 'aborts',
    version: NEW,
    i: 3,
    features: [['postgres', { imports: 5 }]],
    special: async app => {
      await app.send('GET', '/gt-hold?now=1')
      await app.abort()
      await app.abort()
    }
  },
  // A storage off the fact's list: reported as `other`.
  { installation: 'split', version: NEW, i: 4, extra: RESOURCES, special: async app => { await Promise.all(RESOURCES.map(async path => await app.send('GET', path))) }, features: [['mongodb', { exports: 4 }]] },
  // A restart that is also the upgrade: same installation, a new instance on the new version (and a new storage).
  { installation: 'restarted', version: OLD, i: 5, then: NEW, features: [['sqlite', { exports: 1 }], ['postgres', { exports: 2, imports: 1 }]] }
]

async function runFleet (receiver: Receiver): Promise<{ lived: Lived[], lost: Batch[] }> {
  const lost: Batch[] = []
  const lives = await Promise.all(ROLES.map(async role => {
    const first = await live(receiver, role, role.version, lost)
    return role.then === undefined ? [first] : [first, await live(receiver, role, role.then, lost)]
  }))
  return { lived: lives.flat(), lost }
}

/** Per installation × version × endpoint × method: the grain `report` counts installations at. */
function grains (lived: Lived[]): Map<string, Tally & { installation: string, version: string, endpoint: string, method: string }> {
  const out = new Map<string, Tally & { installation: string, version: string, endpoint: string, method: string }>()
  for (const { installation, version, app } of lived) {
    for (const [key, tally] of app.ledger) {
      const [endpoint, method] = key.split(' ')
      const id = JSON.stringify([installation, version, key])
      const grain = out.get(id) ?? { installation, version, endpoint, method, requests: 0, responses: 0, aborted: 0, status: {} }
      grain.requests += tally.requests
      grain.responses += tally.responses
      grain.aborted += tally.aborted
      for (const [code, n] of Object.entries(tally.status)) grain.status[code] = (grain.status[code] ?? 0) + n
      out.set(id, grain)
    }
  }
  return out
}

function sumBy<T> (items: Iterable<T>, keyOf: (item: T) => string, value: (item: T) => number): Map<string, { total: number, installations: Set<string> }> {
  const out = new Map<string, { total: number, installations: Set<string> }>()
  for (const item of items) {
    const entry = out.get(keyOf(item)) ?? { total: 0, installations: new Set<string>() }
    entry.total += value(item)
    entry.installations.add((item as { installation: string }).installation)
    out.set(keyOf(item), entry)
  }
  return out
}

type FeaturesTruth = Omit<Stats['features'], 'counters'> & { counters: { rows: Array<Omit<Counter, 'usesPerDay'>>, belowFloor: number } }

/**
 * The features section as the apps set and counted them, through the floor k (`versions`: the published ones,
 * oldest first; the newest is the latest): per storage value and per counter, the installations behind it.
 */
function featuresTruth (lived: Lived[], k: number, versions: string[]): FeaturesTruth {
  const count = (n: number): number | null => n >= k ? n : null
  const latest = versions.at(-1) ?? null
  const installations = (which: (l: Lived) => boolean): number => new Set(lived.filter(which).map(l => l.installation)).size
  const all = installations(() => true)
  const onLatest = installations(l => l.version === latest)
  const values = [...new Set(lived.map(l => l.app.facts.storage))].map(value => {
    const n = installations(l => l.app.facts.storage === value)
    const m = installations(l => l.version === latest && l.app.facts.storage === value)
    return { value, installations: n, share: n / all, latest: { installations: count(m), share: m >= k ? m / onLatest : null } }
  }).sort((a, b) => b.installations - a.installations || (a.value < b.value ? -1 : 1))
  const facts = all >= k ? [{ name: 'storage', installations: { all, latest: count(onLatest) }, values: { rows: values.filter(v => v.installations >= k), belowFloor: values.filter(v => v.installations < k).length } }] : []
  const use = (name: string, on: (l: Lived) => boolean): { installations: number, using: number | null, share: number | null, uses: number | null } => {
    const using = installations(l => on(l) && l.app.uses[name] > 0)
    const uses = lived.filter(on).reduce((a, l) => a + l.app.uses[name], 0)
    return { installations: installations(on), using: count(using), share: using >= k ? using / installations(on) : null, uses: using >= k ? uses : null }
  }
  const ran = new Set(lived.map(l => l.version)).size
  const counters = FEATURES.counters.map(name => {
    const rows = versions.map(version => ({ version, ...use(name, l => l.version === version) })).filter(v => v.installations >= k)
    return { name, ...use(name, () => true), versions: { rows, belowFloor: ran - rows.length } }
  }).filter(c => c.installations >= k).sort((a, b) => (b.using ?? 0) - (a.using ?? 0) || (a.name < b.name ? -1 : 1))
  return { latest, facts: { rows: facts, belowFloor: 1 - facts.length }, counters: { rows: counters, belowFloor: FEATURES.counters.length - counters.length } }
}

/** The features section without the uses per day (summed against the versions' uses on their own). */
const withoutDays = (features: Stats['features']): FeaturesTruth => ({ ...features, counters: { ...features.counters, rows: features.counters.rows.map(({ usesPerDay, ...c }) => c) } })

const errors5xx = (status: Record<string, number>): number => Object.entries(status).filter(([code]) => code.startsWith('5')).reduce((a, [, n]) => a + n, 0)

/** The bucket the p-quantile of a histogram falls in, by the rank rule the README documents (rank = p × count). */
function bucketOf (buckets: number[], p: number): number {
  const rank = p * buckets.reduce((a, b) => a + b, 0)
  let before = 0
  let i = 0
  while (before + buckets[i] < rank) before += buckets[i++]
  return i
}

/** A published percentile lies in its bucket: within the bucket's bounds, or without a value in the open top bucket. */
function inItsBucket (figure: LatencyFigure | null): boolean {
  if (figure === null) return false
  if (figure.bucket === LATENCY_BOUNDS_MS.length) return figure.ms === null
  const lower = figure.bucket === 0 ? 0 : LATENCY_BOUNDS_MS[figure.bucket - 1]
  return figure.ms !== null && figure.ms >= lower && figure.ms <= LATENCY_BOUNDS_MS[figure.bucket]
}

async function reportAt (db: string, out: string, k: number): Promise<{ stats: Stats, json: string, html: string }> {
  const io = { out: sink(), err: sink() }
  const code = await runAnalysisCommand('report', ['--db', db, '--out', out, '--min-installations', String(k)], io)
  if (code !== 0) throw new Error(io.err.text)
  const json = readFileSync(join(out, 'stats.json'), 'utf8')
  return { stats: JSON.parse(json) as Stats, json, html: readFileSync(join(out, 'index.html'), 'utf8') }
}

/** Every value of every column of a Parquet file, decoded by DuckDB, as text per column. */
async function parquetColumns (file: string): Promise<Map<string, string>> {
  const db = await DuckDBInstance.create(':memory:')
  const connection = await db.connect()
  try {
    const rows = (await connection.runAndReadAll(`SELECT * FROM read_parquet('${file}')`)).getRowObjectsJson()
    const columns = new Map<string, string>()
    for (const row of rows) for (const [column, value] of Object.entries(row)) columns.set(column, `${columns.get(column) ?? ''}\n${JSON.stringify(value)}`)
    return columns
  } finally {
    connection.closeSync()
    db.closeSync()
  }
}

test('ground truth: six real installations → receiver → ingest → report; every published total is what was sent', async t => {
  const dir = t.testdir()
  const receiver = await startReceiver(t, join(dir, 'receiver'), WRITE_KEY)
  const { lived, lost } = await runFleet(receiver)

  // A sender resends a batch that did arrive: the same bytes, the same messageId, stored a second time.
  const plain = lived.find(l => l.installation === 'plain') as Lived
  const resent = receiver.accepted.find(batch => batch.events.some(e => isReport(e, plain.app.instanceId))) as Batch
  t.equal(await receiver.replay(resent), 200)

  // The same events also arrive from a Segment S3 sync, with the fields Segment adds (the write key among them).
  const stored: Event[] = []
  for await (const event of readEvents(receiver.dataDir)) stored.push(event)
  const ws = lived.find(l => l.installation === 'websockets') as Lived
  const synced = [
    stored.find(e => e.type === 'identify' && e.anonymousId === ws.app.clusterId) as Event,
    stored.find(e => isReport(e, ws.app.instanceId)) as Event
  ]
  const day = new Date(synced[0].receivedAt).setUTCHours(0, 0, 0, 0)
  const s3 = join(dir, 's3')
  mkdirSync(join(s3, 'segment-logs', 'segment-source', String(day)), { recursive: true })
  writeFileSync(join(s3, 'segment-logs', 'segment-source', String(day), 'segment-sync.gz'),
    gzipSync(synced.map(e => JSON.stringify({ ...e, writeKey: WRITE_KEY, originalTimestamp: e.receivedAt, projectId: 'p1' })).join('\n') + '\n'))

  t.test('what reached the files: the loss, the duplicate and the split are real', async t => {
    const files: Event[] = []
    for await (const event of readEvents(receiver.dataDir)) files.push(event)
    const ids = files.map(e => e.messageId)
    t.equal(ids.filter(id => id === resent.events[0].messageId).length, 2, 'the resent batch is stored twice')
    t.equal(new Set(ids).size, ids.length - 1, 'every other event once')
    t.equal(lost.length, 1)
    const lostReport = lost[0].events[0]
    t.ok(lostReport.properties.requests > 0, 'the lost report carried traffic')
    t.notOk(files.some(e => e.properties?.reportId === lostReport.properties.reportId), 'the lost report is in no file')
    for (const { installation, version, app, final } of lived) {
      const reports = files.filter(e => isReport(e, app.instanceId))
      const last = reports.filter(e => e.properties.part === 1).sort((a, b) => a.properties.requests - b.properties.requests).at(-1) as Event
      t.equal(final.requests, app.sent, `${installation} ${version}: the plugin counted every request sent`)
      t.equal(last.properties.requests, app.sent, `${installation} ${version}: the final report arrived and counts every request`)
      const parts = reports.filter(e => e.properties.reportId === last.properties.reportId)
      t.equal(parts.length, last.properties.parts, `${installation} ${version}: the final report is complete`)
      t.ok(files.some(e => e.type === 'identify' && e.traits.instanceId === app.instanceId && e.traits.version === version), `${installation} ${version}: identified`)
      if (installation === 'split') t.ok(last.properties.parts >= 2, `the split installation's final report came in ${last.properties.parts} parts`)
      if (installation === 'lossy') t.ok(last.properties.requests > lostReport.properties.requests, 'the lost report was not the instance\'s last: a later one counts more')
    }
  })

  const db = join(dir, 'fleet.duckdb')
  const io = { out: sink(), err: sink() }
  t.equal(await runAnalysisCommand('ingest', [receiver.dataDir, s3, '--db', db], io), 0, io.err.text)
  t.match(io.out.text, /\b3 duplicates\b/, 'the resent event and the two synced ones are counted once')
  const grain = [...grains(lived).values()]
  const sent = grain.reduce((a, g) => a + g.requests, 0)

  t.test('k = 1: every figure equals what was sent', async t => {
    const { stats, html } = await reportAt(db, join(dir, 'k1'), 1)
    t.match(html, 'Privacy floor lowered to 1 installation')
    t.same(stats.fleet, { installations: ROLES.length, instances: lived.length, requests: sent })
    t.equal(stats.endpoints.requestsPerDay.reduce((a, d) => a + (d.requests as number), 0), sent, 'requests per day add up to every request')
    t.same(stats.versions.rows.map(v => [v.version, v.installations]), [[OLD, 4], [NEW, 3]], 'the restarted installation ran both versions')

    const byEndpoint = sumBy(grain, g => g.endpoint, g => g.requests)
    t.same(Object.fromEntries(stats.endpoints.usage.rows.map(r => [r.endpoint, [r.requests, r.installations]])),
      Object.fromEntries([...byEndpoint].map(([endpoint, e]) => [endpoint, [e.total, e.installations.size]])), 'requests and installations per endpoint')
    t.equal(stats.endpoints.usage.rows.length, ENDPOINTS.length + RESOURCES.length + 1, 'every endpoint, `/` included')
    const byMethod = sumBy(grain, g => g.method, g => g.requests)
    t.same(Object.fromEntries(stats.endpoints.methods.rows.map(r => [r.method, [r.requests, r.installations]])),
      Object.fromEntries([...byMethod].map(([method, m]) => [method, [m.total, m.installations.size]])), 'requests and installations per method')

    // The release comparison counts, per side, the installations whose traffic on that endpoint got a response.
    const answered = grain.filter(g => g.responses > 0)
    const sides = new Map<string, { requests: number, responses: number, errors5xx: number, installations: Set<string>, buckets: number[] }>()
    for (const g of answered) {
      const key = JSON.stringify([g.endpoint, g.method, g.version])
      const side = sides.get(key) ?? { requests: 0, responses: 0, errors5xx: 0, installations: new Set<string>(), buckets: new Array(14).fill(0) }
      side.requests += g.requests
      side.responses += g.responses
      side.errors5xx += errors5xx(g.status)
      side.installations.add(g.installation)
      sides.set(key, side)
    }
    // The latency truth: the plugin's own final histograms of the instances behind each side, summed bucket by bucket.
    for (const { installation, version, final } of lived) {
      for (const [endpoint, path] of Object.entries(final.paths)) {
        for (const [method, record] of Object.entries(path.methods)) {
          const side = sides.get(JSON.stringify([endpoint, method, version]))
          if (side === undefined || !side.installations.has(installation)) continue
          record.latency.buckets.forEach((n, i) => { side.buckets[i] += n })
        }
      }
    }
    const published = new Map<string, Side>()
    t.equal(stats.comparison.latest, NEW)
    t.equal(stats.comparison.previous, OLD)
    for (const row of stats.comparison.rows) {
      if (row.latest !== null) published.set(JSON.stringify([row.endpoint, row.method, NEW]), row.latest)
      if (row.previous !== null) published.set(JSON.stringify([row.endpoint, row.method, OLD]), row.previous)
    }
    // Each side as published, against the truth: counts, then the bucket of each percentile.
    const percentiles = [['p50', 0.5], ['p95', 0.95], ['p99', 0.99]] as const
    t.same(Object.fromEntries([...published].map(([key, side]) => [key, {
      counts: [side.requests, side.responses, side.errors5xx, side.installations],
      buckets: percentiles.map(([name]) => side[name]?.bucket)
    }])), Object.fromEntries([...sides].map(([key, truth]) => [key, {
      counts: [truth.requests, truth.responses, truth.errors5xx, truth.installations.size],
      buckets: percentiles.map(([, p]) => bucketOf(truth.buckets, p))
    }])), 'per endpoint × method × version: requests, responses, 5xx, installations, and the bucket of p50, p95, p99')
    t.same([...sides].filter(([, truth]) => truth.buckets.reduce((a, b) => a + b, 0) !== truth.responses).map(([key]) => key), [],
      'the plugin\'s histograms hold one latency observation per response')
    const outside = [...published].flatMap(([key, side]) => percentiles.filter(([name]) => !inItsBucket(side[name])).map(([name]) => `${key} ${name}`))
    t.same(outside, [], 'each percentile lies within its bucket\'s bounds (and reads "> 10 s" in the open top bucket)')
    const aborted = [...published.values()].reduce((a, side) => a + side.requests - side.responses, 0)
    const errors = [...published.values()].reduce((a, side) => a + side.errors5xx, 0)
    const buckets = new Set([...published.values()].flatMap(side => [side.p50, side.p95, side.p99]).map(figure => figure?.bucket).filter(b => b !== undefined))
    // The checks above mean something only if the percentiles are spread. The handlers' sleeps (3 to 60 ms) are lower
    // bounds of their latency; on a loaded machine (CI runs test files side by side) the fast endpoints slow down
    // into the buckets of the slow ones, so three distinct buckets are asked for, not every one the sleeps aim at.
    t.ok(buckets.size >= 3, `percentiles in ${buckets.size} different buckets`)
    t.equal(errors, grain.reduce((a, g) => a + errors5xx(g.status), 0), 'every 5xx sent')
    // Two aborts and three websocket upgrades in each of the two phases.
    t.equal(aborted, 4, 'the aborted requests: counted as requests without a response')
    t.same(published.get(JSON.stringify(['/gt-live', 'GET', OLD]))?.responses, 6, 'the websocket upgrades, each a response')

    t.same(withoutDays(stats.features), featuresTruth(lived, 1, [OLD, NEW]), 'facts and counters: every share, installation count and use is what the apps set and counted')
    t.same(stats.features.facts.rows[0].values.rows.map(v => v.value), ['postgres', 'sqlite', 'other'], 'a storage off the list is reported as other')
    t.ok(stats.features.facts.rows[0].values.rows.reduce((a, v) => a + v.share, 0) > 1, 'the restarted installation counts under both of its values')
    for (const c of stats.features.counters.rows) {
      t.same(c.versions.rows.map((v, i) => c.usesPerDay.reduce((a, d) => a + (d.versions[i].uses ?? 0), 0)), c.versions.rows.map(v => v.uses), `${c.name}: the uses per day add up to each version's uses`)
    }
  })

  t.test('the Tables contract: installation_traffic holds, per installation × version × endpoint × method, every request and status code sent', async t => {
    const names = new Map(lived.map(l => [l.app.clusterId, l.installation]))
    const instance = await DuckDBInstance.create(db, { access_mode: 'READ_ONLY' })
    const connection = await instance.connect()
    const rows = (await connection.runAndReadAll(`SELECT anonymous_id, version, endpoint, method, requests, responses, aborted,
      map_keys(status) AS codes, map_values(status) AS counts FROM installation_traffic`)).getRowObjectsJson()
    connection.closeSync()
    instance.closeSync()
    const tables = rows.map(r => ({
      at: JSON.stringify([names.get(String(r.anonymous_id)), r.version, keyOf(String(r.endpoint), String(r.method))]),
      counts: [Number(r.requests), Number(r.responses), Number(r.aborted)],
      status: Object.fromEntries((r.codes as string[]).map((code, i) => [code, Number((r.counts as string[])[i])]))
    })).sort((a, b) => a.at < b.at ? -1 : 1)
    const truth = grain.map(g => ({ at: JSON.stringify([g.installation, g.version, keyOf(g.endpoint, g.method)]), counts: [g.requests, g.responses, g.aborted], status: g.status }))
      .sort((a, b) => a.at < b.at ? -1 : 1)
    t.same(tables, truth)
  })

  // The storage values the apps set (`memory` is on the list, but no app sets it, and the page has a memory section).
  const labels = [OLD, NEW, ...ENDPOINTS, ...RESOURCES, 'storage', 'postgres', 'sqlite', ...FEATURES.counters]
  t.test('k = 4: what fewer than 4 installations share is hidden, figure and label', async t => {
    const { stats, json, html } = await reportAt(db, join(dir, 'k4'), 4)
    t.same(stats.versions.rows.map(v => v.version), [OLD], `${NEW} ran at 3 installations`)
    t.equal(stats.versions.belowFloor, 1)
    const shown = sumBy(grain.filter(g => g.requests > 0), g => g.endpoint, g => g.requests)
    const wide = [...shown].filter(([, e]) => e.installations.size >= 4)
    t.same(Object.fromEntries(stats.endpoints.usage.rows.map(r => [r.endpoint, r.requests])), Object.fromEntries(wide.map(([endpoint, e]) => [endpoint, e.total])))
    t.same([NEW, '/gt-live', '/gt-hold', ...RESOURCES].filter(label => json.includes(label) || html.includes(label)), [],
      `${NEW}, /gt-live, /gt-hold and the ${RESOURCES.length} endpoints of the split installation are in neither file`)
    t.same([stats.comparison.latest, stats.comparison.previous], [OLD, null])
    t.ok(stats.comparison.rows.every(r => r.latest !== null && r.latest.installations >= 4))
    t.same(withoutDays(stats.features), featuresTruth(lived, 4, [OLD]), `features through the floor: the latest is ${OLD}, sqlite and other hidden`)
    t.notOk(json.includes('sqlite') || html.includes('sqlite'), 'sqlite (2 installations) is in neither file')
  })

  t.test('k = 7, above the fleet size: every figure and every label is hidden', async t => {
    const { stats, json, html } = await reportAt(db, join(dir, 'k7'), 7)
    t.same(stats.fleet, { installations: null, instances: null, requests: null })
    t.ok(stats.activity.every(d => d.installations === null && d.instances === null))
    t.ok(stats.endpoints.requestsPerDay.every(d => d.installations === null && d.requests === null))
    t.ok(stats.adoption.every(d => d.installations === null && d.shares.length === 0))
    const { os, arch, runtimeVersion, numCpu } = stats.platform
    t.same([os, arch, runtimeVersion, numCpu].map(d => [d.installations, d.rows]), [[null, []], [null, []], [null, []], [null, []]])
    t.same([stats.versions.rows, stats.endpoints.usage.rows, stats.endpoints.methods.rows, stats.comparison.rows, stats.memory.rows], [[], [], [], [], []])
    t.same([stats.comparison.latest, stats.comparison.previous], [null, null])
    t.same(withoutDays(stats.features), featuresTruth(lived, 7, []))
    t.same([...labels, process.version].filter(label => json.includes(label) || html.includes(label)), [],
      'no version, endpoint, fact, value, counter or Node.js version in either file')
  })

  t.test('no id and no write key in stats.json or index.html; Parquet holds ids only where the Tables contract puts them', async t => {
    const files: Event[] = []
    for await (const event of readEvents(receiver.dataDir)) files.push(event)
    const events = [...files, ...lost.flatMap(b => b.events)]
    const installations = lived.map(l => l.app.clusterId)
    const instances = lived.map(l => l.app.instanceId)
    const secret = [WRITE_KEY, ...events.map(e => e.messageId), ...events.filter(e => e.event === 'telemetry').map(e => e.properties.reportId)]
    t.ok(secret.length > 50, `${secret.length} message and report ids, and the write key`)
    for (const k of [1, 4, 7]) {
      const outputs = [readFileSync(join(dir, `k${k}`, 'stats.json'), 'utf8'), readFileSync(join(dir, `k${k}`, 'index.html'), 'utf8')]
      const found = [...secret, ...installations, ...instances].filter(id => outputs.some(text => text.includes(id)))
      t.same(found, [], `k = ${k}: none of ${secret.length + installations.length + instances.length} ids in either file`)
    }

    const io = { out: sink(), err: sink() }
    t.equal(await runAnalysisCommand('export', ['--parquet', join(dir, 'parquet'), '--db', db], io), 0, io.err.text)
    // Where the README's Tables put them: anonymous_id in every roll-up but daily_traffic, instance_id in activity.
    const allowed: Record<string, string[]> = {
      daily_traffic: [],
      installation_traffic: ['anonymous_id'],
      memory_by_version: ['anonymous_id'],
      activity: ['anonymous_id', 'instance_id'],
      installations: ['anonymous_id']
    }
    const seen = new Map<string, Set<string>>()
    for (const file of io.out.text.trim().split('\n')) {
      const table = (file.split('/').pop() as string).replace('.parquet', '')
      const bytes = readFileSync(file)
      t.same(secret.filter(id => bytes.includes(id)), [], `${table}: no message id, report id or write key in the file's bytes`)
      for (const [column, text] of await parquetColumns(file)) {
        t.same(secret.filter(id => text.includes(id)), [], `${table}.${column}: none decoded either`)
        const ids = [...installations, ...instances].filter(id => text.includes(id))
        if (ids.length > 0) t.ok(allowed[table].includes(column), `${table}.${column} holds ids: the contract says it may`)
        for (const id of ids) seen.set(id, (seen.get(id) ?? new Set()).add(`${table}.${column}`))
      }
    }
    // The search finds ids where they are: without this it could pass by finding nothing anywhere.
    t.ok(installations.every(id => seen.get(id)?.has('installations.anonymous_id')), 'every installation id found in installations.anonymous_id')
    t.ok(instances.every(id => seen.get(id)?.has('activity.instance_id')), 'every instance id found in activity.instance_id')
  })
})
