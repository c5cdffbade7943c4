import { readFileSync } from 'node:fs'
import { join } from 'node:path'
import { test } from 'tap'
import { runAnalysisCommand } from '../../lib/analysis/cli'
import type { Stats } from '../../lib/analysis/report/stats-types'
import { bucketsWith, mergeFleets, uniformFleet } from './helpers/fleet-db'
import { reportOf } from './helpers/report'

function sink (): { write (text: string): boolean, text: string } {
  return { text: '', write (text) { this.text += text; return true } }
}

const nothing = { slower: [], moreErrors: [], faster: [], fewerErrors: [] }

test('a fleet without version effects (20 × 21, --no-version-effects) flags nothing', async t => {
  const dir = t.testdir()
  const io = { out: sink(), err: sink() }
  t.equal(await runAnalysisCommand('simulate', ['--installations', '20', '--days', '21', '--out', join(dir, 'data'), '--no-version-effects'], io), 0, io.err.text)
  t.equal(await runAnalysisCommand('ingest', [join(dir, 'data'), '--db', join(dir, 'fleet.duckdb')], io), 0, io.err.text)
  t.equal(await runAnalysisCommand('report', ['--db', join(dir, 'fleet.duckdb'), '--out', join(dir, 'out')], io), 0, io.err.text)
  const { comparison } = JSON.parse(readFileSync(join(dir, 'out', 'stats.json'), 'utf8')) as Stats
  t.same(comparison.summary, nothing)
  t.ok(comparison.rows.some(r => r.measures.p95.test === 'paired'), 'rows were compared')
})

// 20 installations ran 1.0.0 then 1.1.0 with the same traffic; on 1.1.0 one of them (a broken database, or a fake
// installation: the write key is public) sends 20 times the traffic and fails half of it. Pooled over requests its
// 5xx rate is the fleet's; per installation it is one of 20.
test('one installation with 20× the traffic and 50 % errors on an unchanged endpoint does not mark the release', async t => {
  const traffic = [{ endpoint: '/items', method: 'GET', requests: 200, status: { 200: 199, 500: 1 }, latency: bucketsWith([4, 150], [5, 50]) }]
  const before = uniformFleet(20, { prefix: 'x', version: '1.0.0', days: ['2026-01-01'], traffic })
  const after = uniformFleet(20, { prefix: 'x', version: '1.1.0', days: ['2026-01-02'], traffic })
  for (const i of after.instances) i.instanceId += '-new'
  for (const r of after.reports) { r.instanceId += '-new'; r.reportId += '-new' }
  after.reports[0].traffic = [{ endpoint: '/items', method: 'GET', requests: 4000, status: { 200: 2000, 500: 2000 }, latency: bucketsWith([4, 3000], [5, 1000]) }]
  const { stats } = await reportOf(t, mergeFleets(before, after))
  const [row] = stats.comparison.rows
  t.ok((row.latest?.errorRate as number) > 0.25, `pooled over requests, 1.1.0 fails ${row.latest?.errorRate} (1.0.0: ${row.previous?.errorRate})`)
  t.same([row.measures.errorRate.test, row.measures.errorRate.pairs, row.measures.errorRate.change], ['paired', 20, 0])
  t.same(stats.comparison.summary, nothing)
})
