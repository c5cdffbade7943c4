import { writeFileSync } from 'node:fs'
import { join, resolve } from 'node:path'
import { FST_TELEMETRY_COLLECTOR_DAYS, FST_TELEMETRY_COLLECTOR_MIN_INSTALLATIONS, FST_TELEMETRY_COLLECTOR_TITLE } from '../../errors'
import { ensureDir } from '../../storage/layout'
import { openDatabase } from '../db'
import { renderHtml } from './html'
import { buildStats } from './stats'
import type { RowRef, Stats } from './stats-types'

export interface ReportOptions {
  /** The privacy floor k: no figure or label drawn from fewer than k installations (default 5). */
  minInstallations?: number
  /** The project's name, shown in the page's heading, its <title> and stats.json (default: none). */
  title?: string
  /** Only the last `days` UTC days up to the newest one with activity, the release comparison included (default: all). */
  days?: number
}
export const MAX_TITLE = 100

/** A title the page can show: not blank, at most MAX_TITLE characters, no control characters. */
export function isTitle (title: string): boolean {
  return title.trim() !== '' && title.length <= MAX_TITLE && !/\p{Cc}/u.test(title)
}

export interface ReportResult { statsPath: string, htmlPath: string, summary: string[] }

/** stats.json and index.html for the fleet in dbPath, written into outDir; the database is opened read-only. */
export async function buildReport (dbPath: string, outDir: string, options: ReportOptions = {}): Promise<ReportResult> {
  const k = options.minInstallations ?? 5
  if (!Number.isInteger(k) || k < 1) throw new FST_TELEMETRY_COLLECTOR_MIN_INSTALLATIONS(JSON.stringify(k))
  const { title, days } = options
  if (title !== undefined && !isTitle(title)) throw new FST_TELEMETRY_COLLECTOR_TITLE(MAX_TITLE, JSON.stringify(title))
  if (days !== undefined && (!Number.isInteger(days) || days < 1)) throw new FST_TELEMETRY_COLLECTOR_DAYS(JSON.stringify(days))
  const db = await openDatabase(dbPath, { readOnly: true })
  let stats: Stats
  try {
    stats = await buildStats(db.connection, { minInstallations: k, title: title?.trim(), days })
  } finally {
    db.close()
  }
  await ensureDir(resolve(outDir))
  const statsPath = resolve(join(outDir, 'stats.json'))
  const htmlPath = resolve(join(outDir, 'index.html'))
  writeFileSync(statsPath, JSON.stringify(stats, null, 2) + '\n')
  writeFileSync(htmlPath, renderHtml(stats))
  return { statsPath, htmlPath, summary: summarize(stats) }
}

function summarize (stats: Stats): string[] {
  const n = (v: number | null): string => v === null ? `fewer than ${stats.minInstallations}` : String(v)
  const c = stats.comparison
  const named = (refs: RowRef[], what: string): string => `${refs.length} ${what}${refs.length === 0 ? '' : ` (${refs.map(r => `${r.method} ${r.endpoint}`).join(', ')})`}`
  const uncompared = c.rows.filter(r => Object.values(r.measures).every(m => m.test === 'none')).length
  return [
    `installations: ${n(stats.fleet.installations)}, instances: ${n(stats.fleet.instances)}, days: ${stats.activity.length} (privacy floor ${stats.minInstallations})`,
    `requests: ${n(stats.fleet.requests)} over ${stats.endpoints.usage.rows.length} endpoints shown`,
    c.latest === null || c.previous === null
      ? 'release comparison: needs two versions above the privacy floor'
      : `release ${c.latest} against ${c.previous}, ${c.rows.length} endpoint rows: ${named(c.summary.slower, 'slower')}, ` +
        `${named(c.summary.moreErrors, 'with more 5xx')}, ${named(c.summary.faster, 'faster')}, ${named(c.summary.fewerErrors, 'with fewer 5xx')}; ` +
        `${uncompared} not compared (too few installations)`
  ]
}
