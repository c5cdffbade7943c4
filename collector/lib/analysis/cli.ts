import { parseArgs } from 'node:util'
import { FST_TELEMETRY_COLLECTOR_INVALID_FLAG, FST_TELEMETRY_COLLECTOR_UNKNOWN_FLAG } from '../errors'
import { exportParquet } from './export'
import { forget, type ForgetProgress } from './forget'
import { ingest, type IngestProgress } from './ingest/ingest'
import { prune } from './prune'
import { buildReport } from './report/report'
import { ENDPOINTS, simulate } from './simulate'

export interface Output { write(text: string): unknown }
export interface Io { out: Output, err: Output }

export const USAGE = `Usage:
  fastify-anonymous-telemetry-collector ingest <dir>... --db <file.duckdb> [--memory-limit <size, e.g. 2GB>]
  fastify-anonymous-telemetry-collector report --db <file.duckdb> --out <dir> [--min-installations <k>] [--title <project name>] [--days <n>]
  fastify-anonymous-telemetry-collector export --parquet <dir> --db <file.duckdb>
  fastify-anonymous-telemetry-collector simulate --installations <n> --days <d> --out <dir> [--seed <s>] [--start <YYYY-MM-DD>] [--schema-version 1|2]
      [--slower <endpoint>=<factor>]... [--errors <endpoint>=<factor>]... [--no-version-effects]
  fastify-anonymous-telemetry-collector forget --cluster-id <id> --db <file.duckdb> [--data <dir>]...
  fastify-anonymous-telemetry-collector prune --data <dir> --older-than <days> --db <file.duckdb>
`

type Flags = Record<string, { type: 'string' | 'boolean', multiple?: boolean }>
const string = { type: 'string' } as const
const repeated = { type: 'string', multiple: true } as const
const FLAGS: Record<string, Flags> = {
  forget: { 'cluster-id': string, db: string, data: repeated },
  prune: { data: string, 'older-than': string, db: string },
  ingest: { db: string, 'memory-limit': string },
  report: { db: string, out: string, 'min-installations': string, title: string, days: string },
  export: { db: string, parquet: string },
  simulate: { installations: string, days: string, out: string, seed: string, start: string, 'schema-version': string, slower: repeated, errors: repeated, 'no-version-effects': { type: 'boolean' } }
}

type Values = Record<string, string | undefined>

function parse (name: string, argv: string[]): { values: Values, positionals: string[] } {
  const options = FLAGS[name]
  try {
    return parseArgs({ args: argv, options, strict: true, allowPositionals: name === 'ingest' }) as { values: Values, positionals: string[] }
  } catch (error) {
    // parseArgs quotes the offending flag in every message it throws.
    const flag = (/'([^']+)'/.exec((error as Error).message) as RegExpExecArray)[1]
    if ((error as { code?: string }).code === 'ERR_PARSE_ARGS_UNKNOWN_OPTION') throw new FST_TELEMETRY_COLLECTOR_UNKNOWN_FLAG(flag, Object.keys(options).map(f => `--${f}`).join(', '))
    throw new FST_TELEMETRY_COLLECTOR_INVALID_FLAG(flag, name === 'ingest' ? 'given a value' : 'a flag with a value (no positional arguments)', JSON.stringify(argv))
  }
}

function required (values: Values, flag: string): string {
  const value = values[flag]
  if (value === undefined || value === '') throw new FST_TELEMETRY_COLLECTOR_INVALID_FLAG(`--${flag}`, 'given', 'nothing')
  return value
}

function integer (values: Values, flag: string, min: number): number {
  const text = required(values, flag)
  const n = Number(text)
  if (!/^\d+$/.test(text) || n < min || !Number.isSafeInteger(n)) throw new FST_TELEMETRY_COLLECTOR_INVALID_FLAG(`--${flag}`, `an integer >= ${min}`, JSON.stringify(text))
  return n
}

/** A size DuckDB's memory_limit takes: a number and a unit. */
const MEMORY_SIZE = /^\d+(\.\d+)?\s*(KB|MB|GB|TB|KiB|MiB|GiB|TiB)$/i

function progressLine (p: IngestProgress): string {
  if (p.phase === 'update') return `ingest: ${p.events} new events loaded; updating the derived tables\n`
  return `ingest: ${p.filesRead}/${p.files} files, ${p.lines} lines, ${p.events} new events, ${p.rate.toFixed(1)} MB/s\n`
}

/** Calls `write` with the first progress and then at most once per `ms` (on `now`'s clock): a line every few seconds. */
export function throttle<T> (write: (progress: T) => void, ms = 2000, now = Date.now): (progress: T) => void {
  let last = -Infinity
  return progress => {
    const at = now()
    if (at - last < ms) return
    last = at
    write(progress)
  }
}

/** The plugin's cluster id: lowercase hex SHA-512. */
const CLUSTER_ID = /^[0-9a-f]{128}$/

async function runForget (values: Values, positionals: string[], io: Io): Promise<void> {
  const clusterId = required(values, 'cluster-id').toLowerCase()
  if (!CLUSTER_ID.test(clusterId)) throw new FST_TELEMETRY_COLLECTOR_INVALID_FLAG('--cluster-id', 'a cluster id (the events\' anonymousId: 128 hex digits)', JSON.stringify(values['cluster-id']))
  const dirs = (values.data as string[] | undefined) ?? []
  const line = throttle((p: ForgetProgress) => io.err.write(`forget: ${p.filesRead}/${p.files} files read, ${p.rewritten} rewritten, ${p.events} events taken out\n`))
  const summary = await forget(clusterId, required(values, 'db'), dirs, { onProgress: p => { if (p.step === 'done') line(p) } })
  for (const file of summary.pending) io.err.write(`forget: kept ${file}: a receiver may still append to it; run this forget again once its source has a newer file (the next day)\n`)
  for (const torn of summary.dropped) io.err.write(`forget: the unreadable end of ${torn.file} from byte ${torn.offset} was not kept (${torn.reason})\n`)
  const { events, parts } = summary.deleted
  io.out.write(`forgotten: ${events} events and ${parts} report parts deleted from the database; ${summary.rewritten.length} files rewritten without its ${summary.events} stored events, ${summary.pending.length} kept for a later run; ingest will leave its events out from now on\n`)
}

async function runPrune (values: Values, positionals: string[], io: Io): Promise<void> {
  const days = integer(values, 'older-than', 1)
  const summary = await prune(required(values, 'data'), days, required(values, 'db'), {
    onProgress: throttle(p => io.err.write(`prune: ${p.filesChecked}/${p.files} files checked, ${p.deleted} deleted\n`))
  })
  for (const { file, offset, size } of summary.notIngested) io.err.write(`prune: kept ${file}: ${offset === -1 ? 'never ingested' : `ingested to byte ${offset} of ${size}`}; run ingest first\n`)
  for (const file of summary.appending) io.err.write(`prune: kept ${file}: a receiver may still append to it\n`)
  io.out.write(`${summary.deleted.length} files deleted (${(summary.bytes / 1e6).toFixed(1)} MB) of received days older than ${days} days; ${summary.notIngested.length + summary.appending.length} kept\n`)
}

async function runIngest (values: Values, positionals: string[], io: Io): Promise<void> {
  if (positionals.length === 0) throw new FST_TELEMETRY_COLLECTOR_INVALID_FLAG('<dir>', 'at least one data directory', 'none')
  const memoryLimit = values['memory-limit']
  if (memoryLimit !== undefined && !MEMORY_SIZE.test(memoryLimit)) throw new FST_TELEMETRY_COLLECTOR_INVALID_FLAG('--memory-limit', 'a size such as 512MB or 2GB', JSON.stringify(memoryLimit))
  const summary = await ingest(positionals, required(values, 'db'), { memoryLimit, onProgress: p => io.err.write(progressLine(p)) })
  for (const skipped of summary.skipped) io.err.write(`ingest: skipped ${skipped.file} at byte ${skipped.offset}: ${skipped.reason}\n`)
  if (summary.forgotten > 0) io.err.write(`ingest: ${summary.forgotten} events of forgotten installations left out\n`)
  io.out.write(`${summary.events} new events (${summary.duplicates} duplicates, ${summary.skipped.length} skipped) from ${summary.files} files in ${summary.seconds.toFixed(1)} s (${summary.updateSeconds.toFixed(1)} s of it updating the derived tables); ${summary.reports} complete reports from ${summary.installations} installations\n`)
}

async function runExport (values: Values, positionals: string[], io: Io): Promise<void> {
  const files = await exportParquet(required(values, 'db'), required(values, 'parquet'))
  io.out.write(files.join('\n') + '\n')
}

/** `--flag <endpoint>=<factor>`, repeatable: a simulated endpoint and a positive multiplier. */
function factors (values: Values, flag: string): Record<string, number> {
  const out: Record<string, number> = {}
  for (const text of (values[flag] as string[] | undefined) ?? []) {
    const [, endpoint, factor] = /^(.*)=(.*)$/.exec(text) ?? []
    if (!ENDPOINTS.includes(endpoint) || !(Number(factor) > 0)) {
      throw new FST_TELEMETRY_COLLECTOR_INVALID_FLAG(`--${flag}`, `<endpoint>=<factor> with one of ${ENDPOINTS.join(' ')} and a factor > 0`, JSON.stringify(text))
    }
    out[endpoint] = Number(factor)
  }
  return out
}

async function runSimulate (values: Values, positionals: string[], io: Io): Promise<void> {
  const version = values['schema-version'] ?? '2'
  if (version !== '1' && version !== '2') throw new FST_TELEMETRY_COLLECTOR_INVALID_FLAG('--schema-version', '1 or 2', JSON.stringify(version))
  const start = values.start ?? '2026-01-01'
  if (!/^\d{4}-\d{2}-\d{2}$/.test(start) || Number.isNaN(Date.parse(`${start}T00:00:00Z`))) throw new FST_TELEMETRY_COLLECTOR_INVALID_FLAG('--start', 'a date YYYY-MM-DD', JSON.stringify(start))
  const summary = await simulate({
    installations: integer(values, 'installations', 1),
    days: integer(values, 'days', 1),
    out: required(values, 'out'),
    seed: values.seed === undefined ? 1 : integer(values, 'seed', 0),
    start,
    schemaVersion: Number(version) as 1 | 2,
    slower: factors(values, 'slower'),
    errors: factors(values, 'errors'),
    versionEffects: values['no-version-effects'] === undefined
  })
  io.out.write(`${summary.events} events (${(summary.bytes / 1e6).toFixed(1)} MB uncompressed) in ${summary.files} files; ${summary.requests} requests delivered\n`)
}

async function runReport (values: Values, positionals: string[], io: Io): Promise<void> {
  const minInstallations = values['min-installations'] === undefined ? 5 : integer(values, 'min-installations', 1)
  const days = values.days === undefined ? undefined : integer(values, 'days', 1)
  const result = await buildReport(required(values, 'db'), required(values, 'out'), { minInstallations, title: values.title, days })
  io.out.write([...result.summary, result.htmlPath].join('\n') + '\n')
}

/** The errors of a wrong command line (a flag's value included); any other is a failure of the work (a missing database, a file that cannot be written). */
const USAGE_ERRORS = new Set(['INVALID_FLAG', 'UNKNOWN_FLAG', 'MIN_INSTALLATIONS', 'TITLE', 'DAYS'].map(name => `FST_TELEMETRY_COLLECTOR_${name}`))

const COMMANDS: Record<string, (values: Values, positionals: string[], io: Io) => Promise<void>> = {
  ingest: runIngest, report: runReport, export: runExport, simulate: runSimulate, forget: runForget, prune: runPrune
}

/** Runs an analysis command (`ingest`, `report`, `export`, `simulate`, `forget`, `prune`); 0 on success, 2 (with the usage) for a bad command line, 1 when the work failed. */
export async function runAnalysisCommand (name: string, argv: string[], io: Io = { out: process.stdout, err: process.stderr }): Promise<number> {
  if (!(name in FLAGS)) {
    io.err.write(`unknown command "${name}"\n${USAGE}`)
    return 2
  }
  try {
    const { values, positionals } = parse(name, argv)
    await COMMANDS[name](values, positionals, io)
    return 0
  } catch (error) {
    const code = (error as { code?: string }).code ?? ''
    io.err.write(`${(error as Error).message}\n`)
    if (USAGE_ERRORS.has(code)) {
      io.err.write(USAGE)
      return 2
    }
    return 1
  }
}
