import { DuckDBInstance } from '@duckdb/node-api'
import { test } from 'tap'
import { bucketsWith, mergeFleets, uniformFleet } from './helpers/fleet-db'
import { reportOf } from './helpers/report'

test('no installation, instance, report or message id of the database appears in index.html or stats.json', async t => {
  const { html, json, dbPath, stats } = await reportOf(t, uniformFleet(6, { days: ['2026-01-01', '2026-01-02'], features: i => ({ facts: { storage: `s${i % 2}` }, uses: { exports: i } }) }), 1)
  t.equal(stats.features.counters.rows[0].usesPerDay.length, 2, 'the features section is published too')
  const db = await DuckDBInstance.create(dbPath, { access_mode: 'READ_ONLY' })
  const c = await db.connect()
  const ids = (await c.runAndReadAll(`SELECT message_id AS id FROM events UNION SELECT anonymous_id FROM events UNION SELECT instance_id FROM events
    UNION SELECT report_id FROM reports UNION SELECT instance_id FROM instances UNION SELECT anonymous_id FROM activity
    UNION SELECT instance_id FROM daily_instance_facts UNION SELECT anonymous_id FROM daily_instance_features`)).getRowObjectsJson().map(r => String(r.id))
  c.closeSync()
  db.closeSync()
  t.ok(ids.length > 30, `${ids.length} ids searched`)
  for (const id of ids) {
    t.equal(html.includes(id), false, `${id} not on the page`)
    t.equal(json.includes(id), false, `${id} not in stats.json`)
  }
})

const HOSTILE = ['<script>alert(1)</script>', '"><img src=x onerror=alert(1)>', "'; DROP TABLE x; --", 'x'.repeat(10_000), '\u202Eevil\u202C ñ 😀 中文', 'https://tracker.example/pixel.gif']

test('hostile strings from events are escaped and length-bounded everywhere on the page and in stats.json', async t => {
  const fleets = HOSTILE.map((s, i) => uniformFleet(5, {
    prefix: `h${i}`,
    version: s,
    os: s,
    traffic: [{ endpoint: s, method: s, requests: 4, latency: bucketsWith([4, 4]) }],
    features: () => ({ facts: { [s]: s }, uses: { [s]: 1 } })
  }))
  const { html, json, stats } = await reportOf(t, mergeFleets(...fleets))
  t.notMatch(html, /<script|<img|\u202E/i, 'no markup or bidi override from events')
  t.notMatch(html, /<[a-z][^>]*\s(src|href(?!="#row-\d+")|onerror)=/i, 'a URL from events is only text: nothing on the page loads or links anything but its own rows')
  t.notMatch(html, 'x'.repeat(65), 'no string longer than 64 characters')
  t.notMatch(json, 'x'.repeat(65))
  t.match(html, '&lt;script&gt;alert(1)&lt;/script&gt;')
  t.match(html, 'evil ñ 😀 中文')
  t.equal(stats.versions.rows.length, HOSTILE.length)
  t.equal(stats.comparison.rows.length > 0, true)
  t.same([stats.features.facts.rows.length, stats.features.counters.rows.length], [HOSTILE.length, HOSTILE.length], 'fact names, values and counter names from events: shown, escaped and bounded')
})

test('the page itself names no URL: no link, no font, no script, no namespace URL in the charts', async t => {
  const { html } = await reportOf(t, uniformFleet(5, { days: ['2026-01-01', '2026-01-02'] }))
  t.match(html, /<svg/)
  t.notMatch(html, /https?:|\/\/[a-z]/i)
  t.notMatch(html, /<script|<link|@import|url\((?!#)/i)
})
