import { test } from 'tap'
import { createFloor } from '../../lib/analysis/report/floor'
import { bucketsWith, mergeFleets, uniformFleet } from './helpers/fleet-db'
import { reportOf } from './helpers/report'

test('the floor publishes a count only from k installations up', async t => {
  const floor = createFloor(5)
  t.same([floor.count(4), floor.count(5)], [null, 5])
  t.same(floor.rows([{ installations: 4, label: 'rare' }, { installations: 9, label: 'common' }]), { rows: [{ installations: 9, label: 'common' }], belowFloor: 1 })
})

// 7 installations: 6 on 1.0.0, one on a version, endpoint, os, fact value, fact and counter of its own.
const fleet = () => mergeFleets(
  uniformFleet(6, { traffic: [{ endpoint: '/items', method: 'GET', requests: 10 }], features: () => ({ facts: { storage: 'postgres' }, uses: { exports: 2 } }) }),
  uniformFleet(1, {
    prefix: 'lonely',
    version: '9.9.9-lonely',
    os: 'lonely-os',
    traffic: [{ endpoint: '/lonely-endpoint', method: 'GET', requests: 3, latency: bucketsWith([13, 3]) }],
    features: () => ({ facts: { storage: 'lonely-storage', 'lonely-fact': 'lonely-value' }, uses: { exports: 0, 'lonely-counter': 5 } })
  })
)

test('a row below the floor shows neither its figures nor its label, on the page or in stats.json', async t => {
  const { stats, html, json } = await reportOf(t, fleet())
  for (const label of ['9.9.9-lonely', 'lonely-os', '/lonely-endpoint', 'lonely-storage', 'lonely-fact', 'lonely-value', 'lonely-counter']) {
    t.notMatch(html, label, `${label} not on the page`)
    t.notMatch(json, label, `${label} not in stats.json`)
  }
  t.same(stats.versions.belowFloor, 1)
  t.same(stats.endpoints.usage.belowFloor, 1)
  t.same([stats.features.facts.belowFloor, stats.features.facts.rows[0].values.belowFloor, stats.features.counters.belowFloor], [1, 1, 1], 'a fact, a value and a counter below the floor: counted')
  t.same(stats.features.facts.rows[0].values.rows, [{ value: 'postgres', installations: 6, share: 6 / 7, latest: { installations: 6, share: 1 } }])
  t.same(stats.comparison.latest, '1.0.0')
  t.match(html, /1 more version seen at fewer than 5 installations each/)
})

test('with k above the fleet size, every figure and label is hidden', async t => {
  const { stats, html, json } = await reportOf(t, fleet(), 8)
  t.same(stats.fleet, { installations: null, instances: null, requests: null })
  t.equal(stats.activity.every(a => a.installations === null && a.instances === null), true)
  t.equal(stats.endpoints.requestsPerDay.every(a => a.installations === null && a.requests === null), true)
  t.equal(stats.adoption.every(a => a.installations === null && a.shares.length === 0), true)
  for (const rows of [stats.versions, stats.endpoints.usage, stats.endpoints.methods, stats.memory, stats.platform.os, stats.platform.arch, stats.platform.runtimeVersion, stats.platform.numCpu]) {
    t.same(rows.rows, [])
  }
  t.same([stats.comparison.latest, stats.comparison.previous, stats.comparison.rows], [null, null, []])
  t.same(stats.features, { latest: null, facts: { rows: [], belowFloor: 2 }, counters: { rows: [], belowFloor: 2 } })
  for (const label of ['1.0.0', '9.9.9', 'linux', 'x64', 'v20', '/items', '/lonely', 'GET', 'storage', 'postgres', 'exports']) {
    t.notMatch(html, label, `${label} not on the page`)
    t.notMatch(json, label, `${label} not in stats.json`)
  }
  t.notMatch(html, /<svg/, 'no chart is drawn')
  t.match(html, /fewer than 8/)
})

test('a floor below the default is announced in the page header', async t => {
  const { html } = await reportOf(t, uniformFleet(1), 1)
  t.match(html, /<header>[\s\S]*Privacy floor lowered to 1 installation \(default 5\)[\s\S]*<\/header>/)
  const { html: at2 } = await reportOf(t, uniformFleet(2), 2)
  t.match(at2, /Privacy floor lowered to 2 installations/)
  const { html: normal } = await reportOf(t, uniformFleet(5))
  t.notMatch(normal, /Privacy floor lowered/)
})

test('a day with fewer than k active installations publishes no share, even of a version above the floor', async t => {
  const { stats } = await reportOf(t, mergeFleets(uniformFleet(5, { days: ['2026-01-01'] }), uniformFleet(2, { prefix: 'y', days: ['2026-01-02'] })))
  t.same(stats.adoption[1], { day: '2026-01-02', installations: null, shares: [{ version: '1.0.0', installations: null, share: null }], other: { installations: null, share: null } })
})
