import { readFileSync } from 'node:fs'
import { join } from 'node:path'
import type { Test } from 'tap'
import { buildReport, type ReportOptions } from '../../../lib/analysis/report/report'
import type { Stats } from '../../../lib/analysis/report/stats-types'
import { createFleetDb, type FleetSpec } from './fleet-db'

/** A real DuckDB file holding `fleet`, reported into a fresh directory (with the floor k, or the options): the stats, the page and the paths. */
export async function reportOf (t: Test, fleet: FleetSpec, options?: number | ReportOptions): Promise<{ stats: Stats, html: string, json: string, summary: string[], dir: string, dbPath: string }> {
  const dir = t.testdir()
  const dbPath = join(dir, 'fleet.duckdb')
  await createFleetDb(dbPath, fleet)
  const result = await buildReport(dbPath, join(dir, 'out'), typeof options === 'number' ? { minInstallations: options } : options)
  const json = readFileSync(result.statsPath, 'utf8')
  return { stats: JSON.parse(json) as Stats, json, html: readFileSync(result.htmlPath, 'utf8'), summary: result.summary, dir, dbPath }
}
