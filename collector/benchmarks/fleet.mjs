// Fleet analysis benchmark (not a test): simulate a fleet, ingest all days but the last, ingest the last day alone
// (the daily incremental run), build the report. FLEET_INSTALLATIONS (default 100) and FLEET_DAYS (default 30) size
// the fleet; FLEET_CACHE names a directory where the simulated fleet is kept between runs (simulating is not what
// is measured), under a name with a digest of the simulator, so that a fleet of another simulator is not reused; FLEET_MEMORY_LIMIT (e.g. 2GB) is passed to ingest as DuckDB's memory limit. Prints every figure and
// writes them to benchmarks/results/fleet.txt. Needs `npm run build` first.
import { createHash } from 'node:crypto'
import { existsSync, linkSync, mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync, statSync, writeFileSync } from 'node:fs'
import { createRequire } from 'node:module'
import { availableParallelism, loadavg, tmpdir } from 'node:os'
import { join } from 'node:path'

const require = createRequire(import.meta.url)
const { simulate } = require('../dist/analysis/simulate.js')
const { ingest } = require('../dist/analysis/ingest/ingest.js')
const { buildReport } = require('../dist/analysis/report/report.js')

const installations = Number(process.env.FLEET_INSTALLATIONS ?? 100)
const days = Number(process.env.FLEET_DAYS ?? 30)
const work = mkdtempSync(join(tmpdir(), 'bench-fleet-'))
const simulator = createHash('sha256').update(readFileSync(require.resolve('../dist/analysis/simulate.js'))).digest('hex').slice(0, 8)
const cache = process.env.FLEET_CACHE === undefined ? join(work, 'cache') : join(process.env.FLEET_CACHE, `${installations}x${days}-seed1-${simulator}`)
const db = join(work, 'fleet.duckdb')
const memoryLimit = process.env.FLEET_MEMORY_LIMIT
const seconds = start => Number(process.hrtime.bigint() - start) / 1e9
const lines = []
const print = line => {
  console.log(line)
  lines.push(line)
}
const load = () => loadavg().map(n => n.toFixed(2)).join(' ')

/** Hard-links the stored files of the given day folders of the cache into `data` (the cache stays as it is). */
function link (data, dayNames) {
  for (const day of dayNames) {
    const from = join(cache, 'segment-logs', 'simulated', day)
    const to = join(data, 'segment-logs', 'simulated', day)
    mkdirSync(to, { recursive: true })
    for (const name of readdirSync(from)) linkSync(join(from, name), join(to, name))
  }
}

try {
  print(`fleet benchmark, ${new Date().toISOString()}, ${installations} installations x ${days} days, DuckDB memory limit ${memoryLimit ?? 'default (80 % of RAM)'}; load average at start ${load()}`)
  let t = process.hrtime.bigint()
  const marker = join(cache, 'summary.json')
  let fleet
  if (existsSync(marker)) {
    fleet = JSON.parse(readFileSync(marker, 'utf8'))
    print(`simulate: reused ${cache}: ${fleet.events} events, ${(fleet.bytes / 1e6).toFixed(0)} MB uncompressed`)
  } else {
    rmSync(cache, { recursive: true, force: true })
    fleet = await simulate({ installations, days, out: cache, seed: 1 })
    writeFileSync(marker, JSON.stringify(fleet))
    print(`simulate: ${fleet.events} events, ${(fleet.bytes / 1e6).toFixed(0)} MB uncompressed, ${seconds(t).toFixed(1)} s`)
  }

  const dayNames = readdirSync(join(cache, 'segment-logs', 'simulated')).sort((a, b) => Number(a) - Number(b))
  const data = join(work, 'data')
  link(data, dayNames.slice(0, -1))
  t = process.hrtime.bigint()
  const cpu = process.cpuUsage()
  const bulk = await ingest([data], db, { memoryLimit })
  const bulkSeconds = seconds(t)
  const { user, system } = process.cpuUsage(cpu)
  const coreSeconds = (user + system) / 1e6
  const perCore = bulk.bytes / 1e6 / coreSeconds
  const mbs = bulk.bytes / 1e6 / bulkSeconds
  print(`ingest ${days - 1} days: ${bulk.events} events, ${(bulk.bytes / 1e6).toFixed(0)} MB in ${bulkSeconds.toFixed(1)} s: ${(bulk.events / bulkSeconds).toFixed(0)} events/s, ${mbs.toFixed(1)} MB/s uncompressed; of it ${bulk.updateSeconds.toFixed(1)} s updating the derived tables (load average ${load()})`)
  // CPU of every thread of the process (Node's and DuckDB's): what the rate would be with every core busy throughout.
  print(`CPU of that ingest: ${coreSeconds.toFixed(1)} core-seconds, ${perCore.toFixed(1)} MB per core-second; with all ${availableParallelism()} cores busy all through it, at most ${(perCore * availableParallelism()).toFixed(1)} MB/s`)

  link(data, dayNames.slice(-1))
  t = process.hrtime.bigint()
  const day = await ingest([data], db, { memoryLimit })
  const daySeconds = seconds(t)
  print(`ingest one more day (incremental): ${day.events} events, ${(day.bytes / 1e6).toFixed(0)} MB in ${daySeconds.toFixed(1)} s; of it ${day.updateSeconds.toFixed(1)} s updating the derived tables (load average ${load()})`)

  t = process.hrtime.bigint()
  await buildReport(db, join(work, 'site'), { minInstallations: 5 })
  print(`report over ${days} days: ${seconds(t).toFixed(1)} s (load average ${load()})`)
  print(`database: ${(statSync(db).size / 1e6).toFixed(0)} MB; peak RSS of this process: ${(process.resourceUsage().maxRSS / 1e3).toFixed(0)} MB`)
  const perInstallationDay = fleet.bytes / installations / days
  print(`one installation-day is ${(perInstallationDay / 1e6).toFixed(2)} MB uncompressed; at ${mbs.toFixed(1)} MB/s one hour ingests ${Math.floor(mbs * 1e6 * 3600 / perInstallationDay)} installation-days`)
  print(`a daily incremental run of ${installations} installations took ${daySeconds.toFixed(1)} s: scaled linearly, one hour does the day of ${Math.floor(installations * 3600 / daySeconds)} installations`)
  mkdirSync(join(import.meta.dirname, 'results'), { recursive: true })
  writeFileSync(join(import.meta.dirname, 'results', 'fleet.txt'), lines.join('\n') + '\n')
} finally {
  rmSync(work, { recursive: true, force: true })
}
