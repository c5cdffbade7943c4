// Fleet analysis benchmark (not a test): simulate a fleet, ingest it, ingest one more day incrementally, report.
// FLEET_INSTALLATIONS (default 100) and FLEET_DAYS (default 30) size the fleet. Needs `npm run build` first.
import { existsSync, mkdtempSync, readdirSync, renameSync, rmSync, statSync } from 'node:fs'
import { createRequire } from 'node:module'
import { tmpdir } from 'node:os'
import { join } from 'node:path'

const require = createRequire(import.meta.url)
const { simulate } = require('../dist/analysis/simulate.js')
const { ingest } = require('../dist/analysis/ingest.js')

const installations = Number(process.env.FLEET_INSTALLATIONS ?? 100)
const days = Number(process.env.FLEET_DAYS ?? 30)
const work = mkdtempSync(join(tmpdir(), 'bench-fleet-'))
const data = join(work, 'data')
const db = join(work, 'fleet.duckdb')
const seconds = start => Number(process.hrtime.bigint() - start) / 1e9

try {
  let t = process.hrtime.bigint()
  const fleet = await simulate({ installations, days, out: data, seed: 1 })
  console.log(`simulate: ${installations} installations x ${days} days: ${fleet.events} events, ${(fleet.bytes / 1e6).toFixed(0)} MB uncompressed, ${seconds(t).toFixed(1)} s`)

  // Hold the last day back, ingest the rest, then the last day alone: the daily incremental run.
  const source = join(data, 'segment-logs', 'simulated')
  const last = readdirSync(source).sort((a, b) => Number(a) - Number(b)).at(-1)
  renameSync(join(source, last), join(work, last))
  t = process.hrtime.bigint()
  const bulk = await ingest([data], db)
  const bulkSeconds = seconds(t)
  const mbs = bulk.bytes / 1e6 / bulkSeconds
  console.log(`ingest ${days - 1} days: ${bulk.events} events in ${bulkSeconds.toFixed(1)} s: ${(bulk.events / bulkSeconds).toFixed(0)} events/s, ${mbs.toFixed(1)} MB/s uncompressed`)

  renameSync(join(work, last), join(source, last))
  t = process.hrtime.bigint()
  const day = await ingest([data], db)
  console.log(`ingest one more day (incremental): ${day.events} events, ${(day.bytes / 1e6).toFixed(0)} MB in ${seconds(t).toFixed(1)} s`)

  const reportModule = join(import.meta.dirname, '../dist/analysis/report.js')
  if (existsSync(reportModule)) {
    const { buildReport } = require(reportModule)
    t = process.hrtime.bigint()
    await buildReport(db, join(work, 'site'), { minInstallations: 5 })
    console.log(`report over ${days} days: ${seconds(t).toFixed(1)} s`)
  } else {
    console.log('report: skipped (dist/analysis/report.js is not built on this branch)')
  }
  console.log(`database: ${(statSync(db).size / 1e6).toFixed(0)} MB; peak RSS of this process: ${(process.resourceUsage().maxRSS / 1e3).toFixed(0)} MB`)
  const perInstallationDay = fleet.bytes / installations / days
  const perHour = mbs * 1e6 * 3600
  console.log(`one installation-day is ${(perInstallationDay / 1e6).toFixed(1)} MB uncompressed; at ${mbs.toFixed(1)} MB/s one hour ingests ${Math.floor(perHour / perInstallationDay)} installation-days`)
} finally {
  rmSync(work, { recursive: true, force: true })
}
