import { type Args, type Command, integer, type Io, type Kind, matching, oneOf, QUIET, runCommand } from '../command-line'
import { exportParquet } from './export'
import { forget } from './forget'
import { ingest } from './ingest/ingest'
import { prune } from './prune'
import { buildReport, isTitle, MAX_TITLE } from './report/report'
import { ENDPOINTS, simulate } from './simulate'

const DB = { value: '<file.duckdb>', required: true }

async function runIngest ({ values, positionals, progress }: Args, io: Io): Promise<undefined> {
  let step = progress('ingest: reading')
  const summary = await ingest(positionals, values.db as string, {
    memoryLimit: values['memory-limit'] as string | undefined,
    onProgress: p => {
      const read = `${p.filesRead}/${p.files} files, ${p.lines} lines, ${p.events} new events, ${p.rate.toFixed(1)} MB/s`
      if (p.phase === 'load') {
        step.update(read)
      } else {
        step.done(read)
        step = progress('ingest: updating the derived tables')
        step.update(`from ${p.events} new events`)
      }
    }
  })
  step.done(`${summary.updateSeconds.toFixed(1)} s`)
  for (const skipped of summary.skipped) io.err.write(`ingest: skipped ${skipped.file} at byte ${skipped.offset}: ${skipped.reason}\n`)
  if (summary.forgotten > 0) io.err.write(`ingest: ${summary.forgotten} events of forgotten installations left out\n`)
  io.out.write(`${summary.events} new events (${summary.duplicates} duplicates, ${summary.skipped.length} skipped) from ${summary.files} files in ${summary.seconds.toFixed(1)} s (${summary.updateSeconds.toFixed(1)} s of it updating the derived tables); ${summary.reports} complete reports from ${summary.installations} installations\n`)
}

async function runForget ({ values, progress }: Args, io: Io): Promise<undefined> {
  const step = progress('forget')
  const summary = await forget((values['cluster-id'] as string).toLowerCase(), values.db as string, (values.data as string[] | undefined) ?? [], {
    onProgress: p => { step.update(`${p.filesRead}/${p.files} files read, ${p.rewritten} rewritten, ${p.events} events taken out`) }
  })
  step.done(`${summary.rewritten.length} files rewritten`)
  for (const file of summary.pending) io.err.write(`forget: kept ${file}: a receiver may still append to it; run this forget again once its source has a newer file (the next day)\n`)
  for (const torn of summary.dropped) io.err.write(`forget: the unreadable end of ${torn.file} from byte ${torn.offset} was not kept (${torn.reason})\n`)
  const { events, parts } = summary.deleted
  io.out.write(`forgotten: ${events} events and ${parts} report parts deleted from the database; ${summary.rewritten.length} files rewritten without its ${summary.events} stored events, ${summary.pending.length} kept for a later run; ingest will leave its events out from now on\n`)
}

async function runPrune ({ values, progress }: Args, io: Io): Promise<undefined> {
  const days = values['older-than'] as number
  const step = progress('prune')
  const summary = await prune(values.data as string, days, values.db as string, {
    onProgress: p => { step.update(`${p.filesChecked}/${p.files} files checked, ${p.deleted} deleted`) }
  })
  step.done(`${summary.deleted.length} files deleted`)
  for (const { file, offset, size } of summary.notIngested) io.err.write(`prune: kept ${file}: ${offset === -1 ? 'never ingested' : `ingested to byte ${offset} of ${size}`}; run ingest first\n`)
  for (const file of summary.appending) io.err.write(`prune: kept ${file}: a receiver may still append to it\n`)
  io.out.write(`${summary.deleted.length} files deleted (${(summary.bytes / 1e6).toFixed(1)} MB) of received days older than ${days} days; ${summary.notIngested.length + summary.appending.length} kept\n`)
}

async function runReport ({ values }: Args, io: Io): Promise<undefined> {
  const result = await buildReport(values.db as string, values.out as string, {
    minInstallations: values['min-installations'] as number | undefined,
    title: values.title as string | undefined,
    days: values.days as number | undefined
  })
  io.out.write([...result.summary, result.htmlPath].join('\n') + '\n')
}

async function runExport ({ values }: Args, io: Io): Promise<undefined> {
  const files = await exportParquet(values.db as string, values.parquet as string)
  io.out.write(files.join('\n') + '\n')
}

/** `<endpoint>=<factor>`: a simulated endpoint and a positive multiplier. */
const FACTOR: Kind<[string, number]> = {
  expected: `<endpoint>=<factor> with one of ${ENDPOINTS.join(' ')} and a factor > 0`,
  parse: text => {
    const [, endpoint, factor] = /^(.*)=(.*)$/.exec(text) ?? []
    return ENDPOINTS.includes(endpoint) && Number(factor) > 0 ? [endpoint, Number(factor)] : undefined
  }
}

function factors (given: unknown): Record<string, number> {
  return Object.fromEntries((given ?? []) as Array<[string, number]>)
}

async function runSimulate ({ values, progress }: Args, io: Io): Promise<undefined> {
  const step = progress('simulate')
  const summary = await simulate({
    installations: values.installations as number,
    days: values.days as number,
    out: values.out as string,
    seed: values.seed as number | undefined,
    start: values.start as string | undefined,
    schemaVersion: values['schema-version'] === undefined ? undefined : Number(values['schema-version']) as 1 | 2 | 3,
    slower: factors(values.slower),
    errors: factors(values.errors),
    versionEffects: values['no-version-effects'] !== true,
    onProgress: ({ day, days, events }) => step.update(`day ${day} of ${days}, ${events} events`)
  })
  step.done(`${summary.events} events`)
  io.out.write(`${summary.events} events (${(summary.bytes / 1e6).toFixed(1)} MB uncompressed) in ${summary.files} files; ${summary.requests} requests delivered\n`)
}

/** The analysis commands, each declared once: the CLI's parsing, usage errors and help come from these entries. */
export const ANALYSIS_COMMANDS: Record<string, Command> = {
  ingest: {
    summary: 'load every stored event under the directories into a DuckDB database (created when missing), incrementally',
    positionals: { name: '<dir>...', help: 'one or more data directories (a receiver\'s --data or a Segment S3 sync)', min: 1 },
    flags: {
      db: { ...DB, help: 'the fleet database' },
      'memory-limit': { value: '<size>', kind: matching(/^\d+(\.\d+)?\s*(KB|MB|GB|TB|KiB|MiB|GiB|TiB)$/i, 'a size such as 512MB or 2GB'), default: '80 % of RAM', help: 'DuckDB\'s memory limit; past it DuckDB spills to disk' },
      quiet: QUIET
    },
    run: runIngest
  },
  report: {
    summary: 'write the static stats page (index.html) and stats.json into a folder',
    flags: {
      db: { ...DB, help: 'the database ingest wrote, opened read-only' },
      out: { value: '<dir>', required: true, help: 'the folder to write' },
      'min-installations': { value: '<k>', kind: integer(1), default: '5', help: 'the privacy floor: no figure from fewer than k installations' },
      title: { value: '<project name>', kind: { expected: `a name of 1 to ${MAX_TITLE} characters without control characters`, parse: title => isTitle(title) ? title : undefined }, help: 'the page\'s title: whose fleet it shows' },
      days: { value: '<n>', kind: integer(1), default: 'every day', help: 'the window: the last n days of data, the release comparison included' }
    },
    run: runReport
  },
  export: {
    summary: 'write the roll-ups as Parquet files, one per table (not for publishing)',
    flags: {
      parquet: { value: '<dir>', required: true, help: 'the folder to write' },
      db: { ...DB, help: 'the database ingest wrote, opened read-only' }
    },
    run: runExport
  },
  simulate: {
    summary: 'write a seeded, simulated fleet in Segment\'s S3 layout, to try the analysis on',
    flags: {
      installations: { value: '<n>', required: true, kind: integer(1), help: 'installations' },
      days: { value: '<d>', required: true, kind: integer(1), help: 'days' },
      out: { value: '<dir>', required: true, help: 'the data directory to write' },
      seed: { value: '<s>', kind: integer(0), default: '1', help: 'seed of the random choices' },
      start: { value: '<YYYY-MM-DD>', kind: { expected: 'a date YYYY-MM-DD', parse: day => /^\d{4}-\d{2}-\d{2}$/.test(day) && !Number.isNaN(Date.parse(`${day}T00:00:00Z`)) ? day : undefined }, default: '2026-01-01', help: 'the first day' },
      'schema-version': { value: '<1|2|3>', kind: oneOf(['1', '2', '3']), default: '3', help: 'the plugin\'s event format to write (3: with feature facts and counters)' },
      slower: { value: '<endpoint>=<factor>', kind: FACTOR, multiple: true, help: 'multiply the latency of an endpoint on the newest version' },
      errors: { value: '<endpoint>=<factor>', kind: FACTOR, multiple: true, help: 'multiply the 5xx rate of an endpoint on the newest version' },
      'no-version-effects': { help: 'every version alike but for --slower and --errors' },
      quiet: QUIET
    },
    run: runSimulate
  },
  forget: {
    summary: 'remove an installation from the database and the stored files, and keep it out of every later ingest',
    flags: {
      'cluster-id': { value: '<id>', required: true, kind: matching(/^[0-9a-fA-F]{128}$/, 'a cluster id (the events\' anonymousId: 128 hex digits)'), help: 'the installation\'s cluster id, as its operator quotes it' },
      db: { ...DB, help: 'the fleet database (must exist)' },
      data: { value: '<dir>', multiple: true, help: 'a data directory whose stored files are rewritten without its events; repeatable' },
      quiet: QUIET
    },
    run: runForget
  },
  prune: {
    summary: 'delete stored files of received days older than a number of days, once ingest has read them to their end',
    flags: {
      data: { value: '<dir>', required: true, help: 'the data directory (a receiver\'s --data)' },
      'older-than': { value: '<days>', required: true, kind: integer(1), help: 'keep the files of the last days received' },
      db: { ...DB, help: 'the database ingest wrote, opened read-only' },
      quiet: QUIET
    },
    run: runPrune
  }
}

/** Runs an analysis command as the command line does (exit code 0, 1 or 2). */
export async function runAnalysisCommand (name: string, argv: string[], io: Pick<Io, 'out' | 'err'> & Partial<Io>): Promise<number> {
  return await runCommand(name, ANALYSIS_COMMANDS[name], argv, { env: {}, stopped: new Promise(() => {}), ...io })
}
