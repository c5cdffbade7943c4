// The demo's last step: the stored events → `ingest` → `report`, with the collector's own command line, as a
// maintainer runs it. One demo installation is below the default privacy floor of 5, so the report is built with
// --min-installations 1 (the page says so in its header).
import { execFile } from 'node:child_process'
import { readFileSync } from 'node:fs'
import { join } from 'node:path'
import { fileURLToPath } from 'node:url'
import { promisify } from 'node:util'

const BIN = fileURLToPath(new URL('../collector/dist/cli.js', import.meta.url))
const FLOOR_NOTICE = 'Privacy floor lowered to 1 installation'

async function collector (args) {
  console.log(`  $ fastify-anonymous-telemetry-collector ${args.join(' ')}`)
  const { stdout } = await promisify(execFile)(process.execPath, [BIN, ...args])
  return stdout
}

/** Four lines from stats.json: who, what, how fast, which features. */
function summary (stats) {
  const endpoints = stats.endpoints.usage.rows.map(r => `${r.endpoint} ${r.requests}`).join(', ')
  const rows = stats.comparison.rows.filter(r => r.latest?.p95 != null).sort((a, b) => b.latest.requests - a.latest.requests)
  const p95 = rows.slice(0, 4).map(r => `${r.method} ${r.endpoint} ${r.latest.p95.display}`).join(', ')
  return [
    `installations ${stats.fleet.installations}, instances ${stats.fleet.instances}, requests ${stats.fleet.requests}, ` +
      (stats.period.from === stats.period.to ? `on ${stats.period.from}` : `from ${stats.period.from} to ${stats.period.to}`),
    `requests by endpoint: ${endpoints || 'none yet'}`,
    `app ${stats.comparison.latest}, p95 latency: ${p95 || 'no responses yet'}`,
    `features: ${features(stats.features) || 'none reported'}`
  ]
}

/** The Features section in a line: each fact's values with their shares, each counter's uses. */
function features ({ facts, counters }) {
  const percent = share => `${Math.round(share * 100)} %`
  return [
    ...facts.rows.map(f => `${f.name} ${f.values.rows.map(v => `${v.value} ${percent(v.share)}`).join(', ')}`),
    ...counters.rows.map(c => `${c.name} ${c.uses} uses`)
  ].join('; ')
}

/** Ingests `dataDir` into `<dataDir>/fleet.duckdb`, reports into `<dataDir>/site/`; returns the page's path and the summary. */
export async function analyze (dataDir) {
  const db = join(dataDir, 'fleet.duckdb')
  const site = join(dataDir, 'site')
  const ingested = await collector(['ingest', dataDir, '--db', db])
  console.log(`    ${ingested.trim()}`)
  await collector(['report', '--db', db, '--out', site, '--min-installations', '1'])
  const htmlPath = join(site, 'index.html')
  if (!readFileSync(htmlPath, 'utf8').includes(FLOOR_NOTICE)) throw new Error(`${htmlPath} does not say "${FLOOR_NOTICE}"`)
  return { htmlPath, summary: summary(JSON.parse(readFileSync(join(site, 'stats.json'), 'utf8'))) }
}
