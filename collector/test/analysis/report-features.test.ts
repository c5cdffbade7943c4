import { readFileSync } from 'node:fs'
import { join } from 'node:path'
import Ajv from 'ajv'
import addFormats from 'ajv-formats'
import { test, type Test } from 'tap'
import { ingest } from '../../lib/analysis/ingest/ingest'
import { versionColour } from '../../lib/analysis/report/charts'
import { buildReport } from '../../lib/analysis/report/report'
import type { Stats } from '../../lib/analysis/report/stats-types'
import { App, anonymousId, append, stored } from './helpers/events'

// The features section from plugin events (schemaVersion 3: part 1 carries `facts` and cumulative `features`),
// through ingest into a real DuckDB, then `report`. Every figure below is counted by hand from the plan.

const DAY1 = '2026-03-01'
const DAY2 = '2026-03-02'

/** One instance: its installation, version, day, facts, and per report the uses counted since the previous one. */
type Life = [installation: string, version: string, day: string, facts: Record<string, string>, reports: Array<Record<string, number>>]

// Installations a to f run 1.0.0 on day 1; on day 2 a to d run 1.1.0 (new instances) and e still 1.0.0.
// b stored in sqlite on day 1 and postgres on day 2, d the other way: each counts under both values.
// f alone reports a value, a fact and a counter of its own: below any floor above 1. Only a and b use legacy (on 1.0.0).
const PLAN: Life[] = [
  ['a', '1.0.0', DAY1, { storage: 'postgres' }, [{ exports: 2, legacy: 1 }, { exports: 3 }]],
  ['b', '1.0.0', DAY1, { storage: 'sqlite' }, [{ exports: 3, legacy: 1 }]],
  ['c', '1.0.0', DAY1, { storage: 'postgres' }, [{ exports: 1, legacy: 0 }]],
  ['d', '1.0.0', DAY1, { storage: 'postgres' }, [{ exports: 0 }]],
  ['e', '1.0.0', DAY1, { storage: 'sqlite' }, [{ exports: 0 }]],
  ['f', '1.0.0', DAY1, { storage: 'lonely-value', 'lonely-fact': 'redis' }, [{ exports: 0, 'lonely-counter': 7 }]],
  ['a', '1.1.0', DAY2, { storage: 'postgres' }, [{ exports: 1, imports: 1 }]],
  ['b', '1.1.0', DAY2, { storage: 'postgres' }, [{ exports: 1, imports: 1 }]],
  ['c', '1.1.0', DAY2, { storage: 'postgres' }, [{ exports: 0, imports: 1 }]],
  ['d', '1.1.0', DAY2, { storage: 'sqlite' }, [{ exports: 0, imports: 0 }]],
  ['e', '1.0.0', DAY2, { storage: 'sqlite' }, [{ exports: 4 }]]
]

interface Output { stats: Stats, html: string, json: string }
const made = new Map<string, Promise<Output>>()

/** The plan's events, stored as the receiver stores them, ingested, and reported with the floor k (made once per plan and k: the tests only read). */
async function featuresReport (t: Test, k: number, plan = PLAN): Promise<Output> {
  const key = JSON.stringify([k, plan])
  if (!made.has(key)) made.set(key, reportFrom(t.testdir(), k, plan))
  return structuredClone(await made.get(key) as Output)
}

async function reportFrom (dir: string, k: number, plan: Life[]): Promise<Output> {
  for (const [installation, version, day, facts, reports] of plan) {
    const app = new App(anonymousId(installation), version, 3).serve('/items', 'GET', 1)
    for (const [name, value] of Object.entries(facts)) app.fact(name, value)
    const events = [app.identify()]
    for (const uses of reports) {
      for (const [name, n] of Object.entries(uses)) app.use(name, n)
      events.push(...app.report())
    }
    append(dir, day, events.map(e => stored(e, `${day}T10:00:00.000Z`)), { name: `${installation}-${version}.gz` })
  }
  const db = join(dir, 'fleet.duckdb')
  await ingest([dir], db)
  const result = await buildReport(db, join(dir, 'out'), { minInstallations: k })
  const json = readFileSync(result.statsPath, 'utf8')
  return { stats: JSON.parse(json) as Stats, json, html: readFileSync(result.htmlPath, 'utf8') }
}

const section = (html: string): string => (/<section id="features">[\s\S]*?<\/section>/.exec(html) as RegExpExecArray)[0]

test('stats.json with features validates against its JSON Schema', async t => {
  const schema = JSON.parse(readFileSync(join(__dirname, '..', '..', 'schema', 'stats', 'stats.v2.json'), 'utf8'))
  const validate = addFormats(new Ajv({ allErrors: true, strict: false })).compile(schema)
  const { stats } = await featuresReport(t, 3)
  t.equal(validate(stats), true, JSON.stringify(validate.errors))
})

test('a fact: per value, the installations that reported it and their share, on the latest version and on all', async t => {
  const { stats } = await featuresReport(t, 3)
  t.equal(stats.features.latest, '1.1.0')
  t.same(stats.features.facts, {
    rows: [{
      name: 'storage',
      installations: { all: 6, latest: 4 },
      values: {
        rows: [
          // a, b (day 2), c, d (day 1); on 1.1.0 a, b, c of the 4 there.
          { value: 'postgres', installations: 4, share: 4 / 6, latest: { installations: 3, share: 3 / 4 } },
          // b (day 1), d (day 2), e; on 1.1.0 d alone: below the floor.
          { value: 'sqlite', installations: 3, share: 3 / 6, latest: { installations: null, share: null } }
        ],
        belowFloor: 1
      }
    }],
    belowFloor: 1
  })
  const values = stats.features.facts.rows[0].values.rows
  t.ok(values.reduce((sum, v) => sum + v.share, 0) > 1, 'an installation that reported two values counts under each: the shares add up to more than 1')
})

test('a counter: installations reporting and using it, the share using and the uses, on all versions and per version', async t => {
  const { stats } = await featuresReport(t, 3)
  const [exports, imports] = stats.features.counters.rows
  t.same(stats.features.counters.rows.map(c => c.name), ['exports', 'imports', 'legacy'], 'most used first (legacy: fewer than 3)')
  t.equal(stats.features.counters.belowFloor, 1)
  // Uses: a 2 + 3 then 1, b 3 then 1, c 1, e 4 (day 2); the cumulative counts are turned into uses per report.
  t.same({ ...exports, versions: undefined, usesPerDay: undefined }, { name: 'exports', installations: 6, using: 4, share: 4 / 6, uses: 15, versions: undefined, usesPerDay: undefined })
  t.same(exports.versions, {
    rows: [
      { version: '1.0.0', installations: 6, using: 4, share: 4 / 6, uses: 13 },
      { version: '1.1.0', installations: 4, using: null, share: null, uses: null }
    ],
    belowFloor: 0
  })
  t.same(imports.versions, { rows: [{ version: '1.1.0', installations: 4, using: 3, share: 3 / 4, uses: 3 }], belowFloor: 0 })
  t.same([imports.using, imports.share, imports.uses], [3, 3 / 4, 3])
  const legacy = stats.features.counters.rows[2]
  t.same([legacy.installations, legacy.using, legacy.share, legacy.uses, legacy.versions.rows.map(v => v.version)], [3, null, null, null, ['1.0.0']])
})

test('uses per day, by version: each cell from the installations that used the counter that day on that version', async t => {
  const { stats } = await featuresReport(t, 3)
  const [exports, imports] = stats.features.counters.rows
  t.same(exports.usesPerDay, [
    { day: DAY1, versions: [{ version: '1.0.0', using: 3, uses: 9 }, { version: '1.1.0', using: null, uses: null }] },
    // e alone used it on 1.0.0, a and b on 1.1.0: both below the floor.
    { day: DAY2, versions: [{ version: '1.0.0', using: null, uses: null }, { version: '1.1.0', using: null, uses: null }] }
  ])
  t.same(imports.usesPerDay, [{ day: DAY2, versions: [{ version: '1.1.0', using: 3, uses: 3 }] }])
})

test('the page: a Features section after the release comparison, every chart with its table, the note on shares', async t => {
  const { html } = await featuresReport(t, 3)
  const features = section(html)
  t.ok(html.indexOf('<section id="comparison">') < html.indexOf('<section id="features">'), 'after the release comparison')
  t.match(features, 'may add up to more than 100 %')
  t.match(features, '<h3>Fact: storage</h3><p>Reported by 6 installations (4 on 1.1.0).</p>')
  t.match(features, /<figure class="chart"><svg[\s\S]*?<figcaption>storage: share of the installations reporting it/)
  t.match(features, '<tr><td>postgres</td><td>3</td><td>75.0 %</td><td>4</td><td>66.7 %</td></tr>')
  t.match(features, '<tr><td>sqlite</td><td><span class="floor">fewer than 3</span></td><td>–</td><td>3</td><td>50.0 %</td></tr>')
  t.match(features, '1 more value of storage seen at fewer than 3 installations each: not shown.')
  t.match(features, '<tr><td>exports</td><td>6</td><td>4</td><td>66.7 %</td><td>15</td></tr>')
  t.match(features, /<h4>exports<\/h4><figure class="chart">[\s\S]*?uses per UTC day, one column per day stacking the versions/)
  // One day of imports: drawn as a column, never as a lone dot.
  t.match(features, /<h4>imports<\/h4><figure class="chart"><svg class="wide"[\s\S]*?ecmeta_ssr_type="chart"/)
  t.match(features, '<tr><td>2026-03-01</td><td>1.0.0</td><td>3</td><td>9</td></tr>')
  t.match(features, '1 more fact seen at fewer than 3 installations each')
  t.match(features, '1 more counter seen at fewer than 3 installations each')
})

test('a version has one colour on every chart: imports, used on 1.1.0 alone, in 1.1.0\'s colour of the adoption chart', async t => {
  const { html, stats } = await featuresReport(t, 3)
  const published = stats.versions.rows.map(v => v.version)
  const [newer, older] = [versionColour(published, '1.1.0'), versionColour(published, '1.0.0')]
  t.not(newer, older)
  const adoption = (/<section id="versions">[\s\S]*?<\/section>/.exec(html) as RegExpExecArray)[0]
  t.match(adoption, `fill="${newer}"`)
  t.match(adoption, `fill="${older}"`)
  const imports = (/<h4>imports<\/h4><figure class="chart">[\s\S]*?<\/figure>/.exec(html) as RegExpExecArray)[0]
  t.match(imports, `fill="${newer}"`)
  t.notMatch(imports, `fill="${older}"`)
})

test('what fewer than k installations reported is in neither file: values, facts and counters', async t => {
  const { json, html } = await featuresReport(t, 3)
  for (const label of ['lonely-value', 'lonely-fact', 'redis', 'lonely-counter']) {
    t.notMatch(json, label, `${label} not in stats.json`)
    t.notMatch(html, label, `${label} not on the page`)
  }
})

test('with k above every version, the facts and counters still show (without a latest), uses per version do not', async t => {
  // 6 installations report storage and exports, two on each of three versions.
  const { stats, html } = await featuresReport(t, 3, PLAN.slice(0, 6).map(([name, , day, facts, uses], i) => [name, `${1 + Math.floor(i / 2)}.0.0`, day, facts, uses]))
  t.equal(stats.features.latest, null)
  t.same(stats.features.facts.rows.map(f => [f.name, f.installations, f.values.rows.map(v => [v.value, v.installations, v.latest]), f.values.belowFloor]),
    [['storage', { all: 6, latest: null }, [['postgres', 3, { installations: null, share: null }]], 2]])
  t.same(stats.features.counters.rows.map(c => [c.name, c.using, c.uses, c.versions]), [['exports', 3, 9, { rows: [], belowFloor: 3 }], ['legacy', null, null, { rows: [], belowFloor: 2 }]])
  const features = section(html)
  t.match(features, '<h3>Fact: storage</h3><p>Reported by 6 installations.</p>')
  t.match(features, '<tr><th>value</th><th>installations, all versions</th><th>share, all versions</th></tr>')
  t.match(features, '<h4>exports</h4><p class="floor">No version has 3 installations reporting it: no uses per version.</p><p class="floor">3 more versions')
})

test('without facts or counters the section says so', async t => {
  const { stats, html } = await featuresReport(t, 7)
  t.same(stats.features, { latest: null, facts: { rows: [], belowFloor: 2 }, counters: { rows: [], belowFloor: 4 } })
  t.match(section(html), '<p class="floor">No fact or counter was reported by at least 7 installations.</p>')
})

test('facts without counters: no counters heading', async t => {
  const { stats, html } = await featuresReport(t, 3, PLAN.slice(0, 6).map(([name, version, day, facts]) => [name, version, day, facts, [{}]]))
  t.same([stats.features.facts.rows.length, stats.features.counters], [1, { rows: [], belowFloor: 0 }])
  t.notMatch(section(html), '<h3>Counters</h3>')
})
