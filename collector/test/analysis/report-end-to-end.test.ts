import { readFileSync } from 'node:fs'
import { join } from 'node:path'
import { test } from 'tap'
import { runAnalysisCommand } from '../../lib/analysis/cli'
import { simulate } from '../../lib/analysis/simulate'
import type { Stats } from '../../lib/analysis/report/stats-types'

function sink (): { write (text: string): boolean, text: string } {
  return { text: '', write (text) { this.text += text; return true } }
}

// Simulated fleet (known totals) → `ingest` → `report`, through the command line the maintainer runs.
test('end to end: every total in stats.json equals what the fleet sent; k above the fleet size hides everything', async t => {
  const dir = t.testdir()
  const sent = await simulate({ installations: 8, days: 2, out: join(dir, 'data'), seed: 7 })
  const db = join(dir, 'fleet.duckdb')
  const io = { out: sink(), err: sink() }
  t.equal(await runAnalysisCommand('ingest', [join(dir, 'data'), '--db', db], io), 0, io.err.text)
  t.equal(await runAnalysisCommand('report', ['--db', db, '--out', join(dir, 'low'), '--min-installations', '1'], io), 0, io.err.text)
  t.match(io.out.text, join(dir, 'low', 'index.html'))
  const stats = JSON.parse(readFileSync(join(dir, 'low', 'stats.json'), 'utf8')) as Stats
  t.equal(stats.fleet.installations, 8)
  t.equal(stats.fleet.requests, sent.requests)
  t.equal(stats.endpoints.usage.rows.reduce((a, r) => a + r.requests, 0), sent.requests)
  t.equal(stats.endpoints.methods.rows.reduce((a, r) => a + r.requests, 0), sent.requests)
  t.equal(stats.endpoints.requestsPerDay.reduce((a, r) => a + (r.requests as number), 0), sent.requests)
  t.match(readFileSync(join(dir, 'low', 'index.html'), 'utf8'), 'Privacy floor lowered to 1 installation')

  // Without the flag the floor is 5 installations: this fleet of 8 is shown whole.
  t.equal(await runAnalysisCommand('report', ['--db', db, '--out', join(dir, 'default')], io), 0, io.err.text)
  t.equal((JSON.parse(readFileSync(join(dir, 'default', 'stats.json'), 'utf8')) as Stats).fleet.requests, sent.requests)

  t.equal(await runAnalysisCommand('report', ['--db', db, '--out', join(dir, 'high'), '--min-installations', '9'], io), 0, io.err.text)
  const hidden = JSON.parse(readFileSync(join(dir, 'high', 'stats.json'), 'utf8')) as Stats
  t.same(hidden.fleet, { installations: null, instances: null, requests: null })
  t.same([hidden.versions.rows, hidden.endpoints.usage.rows, hidden.endpoints.methods.rows, hidden.comparison.rows, hidden.memory.rows, hidden.platform.os.rows], [[], [], [], [], [], []])
  const html = readFileSync(join(dir, 'high', 'index.html'), 'utf8')
  for (const label of stats.endpoints.usage.rows.map(r => r.endpoint).concat(stats.versions.rows.map(v => v.version))) {
    t.equal(html.includes(`>${label}<`), false, `${label} hidden`)
  }
})
