import { readFileSync } from 'node:fs'
import { join } from 'node:path'
import { test } from 'tap'
import { runAnalysisCommand } from '../../lib/analysis/cli'
import type { Stats } from '../../lib/analysis/report/stats-types'

function sink (): { write (text: string): boolean, text: string } {
  return { text: '', write (text) { this.text += text; return true } }
}

// The release rule end to end: a simulated fleet with known effects → `ingest` → `report`, through the command line.
// 20 installations × 21 days: versions 1.0.0, 1.1.0 and 1.2.0 a week apart, adopted with a lag; the newest, 1.2.0,
// is made 60 % slower on /books and to fail 4 times as often on /orders.
test('an injected fleet (20 × 21, --slower /books=1.6 --errors /orders=4) flags exactly those two rows', async t => {
  const dir = t.testdir()
  const io = { out: sink(), err: sink() }
  t.equal(await runAnalysisCommand('simulate', ['--installations', '20', '--days', '21', '--out', join(dir, 'data'), '--slower', '/books=1.6', '--errors', '/orders=4'], io), 0, io.err.text)
  t.equal(await runAnalysisCommand('ingest', [join(dir, 'data'), '--db', join(dir, 'fleet.duckdb')], io), 0, io.err.text)
  io.out.text = ''
  t.equal(await runAnalysisCommand('report', ['--db', join(dir, 'fleet.duckdb'), '--out', join(dir, 'out')], io), 0, io.err.text)
  const { comparison } = JSON.parse(readFileSync(join(dir, 'out', 'stats.json'), 'utf8')) as Stats
  t.same([comparison.latest, comparison.previous], ['1.2.0', '1.1.0'])
  t.same(comparison.summary, { slower: [{ endpoint: '/books', method: 'GET' }], moreErrors: [{ endpoint: '/orders', method: 'GET' }], faster: [], fewerErrors: [] })
  t.same(comparison.rows.slice(0, 2).map(r => `${r.method} ${r.endpoint}`), ['GET /books', 'GET /orders'], 'the marked rows come first')
  const books = comparison.rows[0].measures.p95
  t.same([books.test, books.pairs >= 7], ['paired', true])
  t.ok((books.change as number) > 1.4, `p95 ratio ${books.change}`)
  t.ok((comparison.rows[1].measures.errorRate.change as number) > 2, `5xx +${comparison.rows[1].measures.errorRate.change} points`)
  t.match(io.out.text, /release 1\.2\.0 against 1\.1\.0, \d+ endpoint rows: 1 slower \(GET \/books\), 1 with more 5xx \(GET \/orders\), 0 faster, 0 with fewer 5xx/)
})
