import { existsSync } from 'node:fs'
import { join } from 'node:path'
import { test } from 'tap'
import { runAnalysisCommand } from '../../lib/analysis/cli'
import { ENDPOINTS } from '../../lib/analysis/simulate'
import { main, type Io } from '../../lib/cli'

/** Stdout and stderr as text; progress's clock stands still and its timer never fires, so only each step's last line shows. */
function capture (): Pick<Io, 'out' | 'err' | 'progress'> & { text: { out: string, err: string } } {
  const text = { out: '', err: '' }
  return {
    text,
    out: { write: (s: string) => { text.out += s } },
    err: { write: (s: string) => { text.err += s } },
    progress: { now: () => 0, schedule: () => () => {} }
  }
}

test('simulate, ingest and export from the command line', async t => {
  const dir = t.testdir()
  const io = capture()
  t.equal(await runAnalysisCommand('simulate', ['--installations', '1', '--days', '1', '--out', dir, '--seed', '4', '--start', '2026-02-01', '--schema-version', '1'], io), 0)
  t.match(io.text.out, /events \(.* MB uncompressed\) in 1 files; \d+ requests delivered/)
  const db = join(dir, 'fleet.duckdb')
  t.equal(await runAnalysisCommand('ingest', [dir, '--db', db, '--memory-limit', '512MB'], io), 0)
  t.match(io.text.out, /new events \(\d+ duplicates, 0 skipped\) from 1 files/)
  t.match(io.text.err, /^simulate: \d+ events \(0 s\)\ningest: reading: 1\/1 files, \d+ lines, \d+ new events, [\d.]+ MB\/s \(\d+ s\)\ningest: updating the derived tables: [\d.]+ s \(\d+ s\)\n$/, 'each stage\'s last line goes to stderr')
  t.match(io.text.out, /in [\d.]+ s \([\d.]+ s of it updating the derived tables\)/)
  t.equal(await runAnalysisCommand('export', ['--parquet', join(dir, 'pq'), '--db', db], io), 0)
  t.ok(existsSync(join(dir, 'pq', 'daily_traffic.parquet')))
})

test('simulate defaults to seed 1 and schemaVersion 3', async t => {
  const io = capture()
  t.equal(await runAnalysisCommand('simulate', ['--installations', '1', '--days', '1', '--out', t.testdir()], io), 0)
  t.match(io.text.out, /requests delivered/)
})

test('simulate takes known effects: --slower and --errors (repeatable) and --no-version-effects', async t => {
  const io = capture()
  t.equal(await runAnalysisCommand('simulate', ['--installations', '1', '--days', '1', '--out', t.testdir(), '--slower', '/=2', '--slower', '/books=1.6', '--errors', '/orders=4', '--no-version-effects'], io), 0, io.text.err)
  t.match(io.text.out, /requests delivered/)
})

test('ingest reports skipped members on stderr', async t => {
  const dir = t.testdir({ 'segment-logs': { s: { 1767225600000: { 'a.gz': 'this is not a gzip file at all' } } } })
  const io = capture()
  t.equal(await runAnalysisCommand('ingest', [dir, '--db', join(dir, 'f.duckdb')], io), 0)
  t.match(io.text.err, /skipped .*a\.gz at byte 0: bad header: not gzip/)
})

const FACTOR = `<endpoint>=<factor> with one of ${ENDPOINTS.join(' ')}`
const bad: Array<[string, string[], string]> = [
  ['ingest', ['--db', 'x.duckdb'], '<dir>... is required: one or more data directories (a receiver\'s --data or a Segment S3 sync)'],
  ['ingest', ['dir'], '--db is required: <file.duckdb>'],
  ['ingest', ['dir', '--db'], '--db needs a value: <file.duckdb>'],
  ['ingest', ['dir', '--bd', 'x'], 'unknown flag --bd; did you mean --db?'],
  ['ingest', ['dir', '--db', 'x', '--memory-limit', 'lots'], '--memory-limit must be a size such as 512MB or 2GB; received "lots"'],
  ['ingest', ['dir', '--db', 'x', '--db', 'y'], '--db was given twice'],
  ['ingest', ['dir', '--db', 'x', '--quiet=yes'], '--quiet takes no value; received "yes"'],
  ['ingest', ['dir', '--db', 'x', '-q'], 'unknown flag -q'],
  ['export', ['--db', 'x.duckdb'], '--parquet is required: <dir>'],
  ['export', ['stray', '--db', 'x', '--parquet', 'p'], 'unexpected argument "stray" (export takes flags only)'],
  ['simulate', ['--installations', 'many', '--days', '1', '--out', 'o'], '--installations must be an integer ≥ 1; received "many"'],
  ['simulate', ['--installations', '0', '--days', '1', '--out', 'o'], '--installations must be an integer ≥ 1; received "0"'],
  ['simulate', ['--installations', '1', '--days', '1', '--out', 'o', '--seed=-1'], '--seed must be an integer ≥ 0; received "-1"'],
  ['simulate', ['--installations', '1', '--days', '1', '--out', 'o', '--schema-version', '4'], '--schema-version must be one of 1, 2, 3; received "4"'],
  ['simulate', ['--installations', '1', '--days', '1', '--out', 'o', '--start', '2026-13-45'], '--start must be a date YYYY-MM-DD; received "2026-13-45"'],
  ['simulate', ['--installations', '1', '--days', '1'], '--out is required: <dir>'],
  ['simulate', ['--installations', '1', '--days', '1', '--out', ''], '--out must be a value; received ""'],
  ['report', ['--db', 'x', '--out', 'o', '--min-installations', '1.5'], '--min-installations must be an integer ≥ 1; received "1.5"'],
  ['report', ['--db', 'x', '--out', 'o', '--title', ' '], '--title must be a name of 1 to 100 characters without control characters; received " "'],
  ['report', ['--db', 'x', '--out', 'o', '--days', '0'], '--days must be an integer ≥ 1; received "0"'],
  ['simulate', ['--installations', '1', '--days', '1', '--out', 'o', '--slower', '/nope=2'], `--slower must be ${FACTOR} and a factor > 0; received "/nope=2"`],
  ['simulate', ['--installations', '1', '--days', '1', '--out', 'o', '--errors', '/orders=0'], `--errors must be ${FACTOR} and a factor > 0; received "/orders=0"`],
  ['simulate', ['--installations', '1', '--days', '1', '--out', 'o', '--slower', '/books'], `--slower must be ${FACTOR} and a factor > 0; received "/books"`],
  ['simulate', ['--installations', '1', '--days', '1', '--out', 'o', '--no-version-effects=no'], '--no-version-effects takes no value; received "no"']
]
for (const [name, argv, message] of bad) {
  test(`${name} ${argv.join(' ')}: exit 2, one line naming the flag, then where help is`, async t => {
    const io = capture()
    t.equal(await runAnalysisCommand(name, argv, io), 2)
    t.equal(io.text.err, `fastify-anonymous-telemetry-collector ${name}: ${message}\nsee \`fastify-anonymous-telemetry-collector ${name} --help\`\n`)
  })
}

test('arguments after -- are positionals, even when they look like flags', async t => {
  const io = capture()
  t.equal(await runAnalysisCommand('ingest', ['--db', join(t.testdir(), 'f.duckdb'), '--quiet', '--', '--help'], io), 1)
  t.match(io.text.err, /^fastify-anonymous-telemetry-collector ingest: cannot read the directory .*--help: it does not exist\n$/)
})

test('a failure that is not the command line exits 1 with its message', async t => {
  const dir = t.testdir({ 'not-a-db': 'plain text' })
  const io = capture()
  t.equal(await runAnalysisCommand('export', ['--db', join(dir, 'not-a-db'), '--parquet', join(dir, 'out')], io), 1)
  t.equal(io.text.err, `fastify-anonymous-telemetry-collector export: cannot open the database ${join(dir, 'not-a-db')}: the file is not a DuckDB database\n`)
})

test('the bin dispatches the analysis subcommands', async t => {
  const io = capture()
  const code = await main(['simulate', '--days', '1'], { ...io, env: {}, stopped: new Promise(() => {}) } as unknown as Io)
  t.equal(code, 2)
  t.match(io.text.err, /--installations is required: <n>/)
})
