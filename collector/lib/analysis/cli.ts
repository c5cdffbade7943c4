import { parseArgs } from 'node:util'
import { FST_TELEMETRY_COLLECTOR_INVALID_FLAG, FST_TELEMETRY_COLLECTOR_UNKNOWN_FLAG } from '../errors'
import { exportParquet } from './export'
import { ingest, type IngestProgress } from './ingest/ingest'
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
`

type Flags = Record<string, { type: 'string' | 'boolean', multiple?: boolean }>
const string = { type: 'string' } as const
const repeated = { type: 'string', multiple: true } as const
const FLAGS: Record<string, Flags> = {
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

async function runIngest (values: Values, positionals: string[], io: Io): Promise<void> {
  if (positionals.length === 0) throw new FST_TELEMETRY_COLLECTOR_INVALID_FLAG('<dir>', 'at least one data directory', 'none')
  const memoryLimit = values['memory-limit']
  if (memoryLimit !== undefined && !MEMORY_SIZE.test(memoryLimit)) throw new FST_TELEMETRY_COLLECTOR_INVALID_FLAG('--memory-limit', 'a size such as 512MB or 2GB', JSON.stringify(memoryLimit))
  const summary = await ingest(positionals, required(values, 'db'), { memoryLimit, onProgress: p => io.err.write(progressLine(p)) })
  for (const skipped of summary.skipped) io.err.write(`ingest: skipped ${skipped.file} at byte ${skipped.offset}: ${skipped.reason}\n`)
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

const COMMANDS: Record<string, (values: Values, positionals: string[], io: Io) => Promise<void>> = {
  ingest: runIngest, report: runReport, export: runExport, simulate: runSimulate
}

/** Runs `ingest`, `report`, `export` or `simulate`; 0 on success, 2 (with the usage) for a bad command line, 1 when the work failed. */
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
    if (code.startsWith('FST_TELEMETRY_COLLECTOR_')) {
      io.err.write(USAGE)
      return 2
    }
    return 1
  }
}
