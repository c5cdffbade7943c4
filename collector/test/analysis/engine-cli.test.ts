import { existsSync } from 'node:fs'
import { join } from 'node:path'
import { test } from 'tap'
import { runAnalysisCommand, type Io } from '../../lib/analysis/cli'
import { main, type Io as MainIo } from '../../lib/cli'

function capture (): Io & { text: { out: string, err: string } } {
  const text = { out: '', err: '' }
  return { text, out: { write: (s: string) => { text.out += s } }, err: { write: (s: string) => { text.err += s } } }
}

test('simulate, ingest and export from the command line', async t => {
  const dir = t.testdir()
  const io = capture()
  t.equal(await runAnalysisCommand('simulate', ['--installations', '1', '--days', '1', '--out', dir, '--seed', '4', '--start', '2026-02-01', '--schema-version', '1'], io), 0)
  t.match(io.text.out, /events \(.* MB uncompressed\) in 1 files; \d+ requests delivered/)
  const db = join(dir, 'fleet.duckdb')
  t.equal(await runAnalysisCommand('ingest', [dir, '--db', db, '--memory-limit', '512MB'], io), 0)
  t.match(io.text.out, /new events \(\d+ duplicates, 0 skipped\) from 1 files/)
  t.match(io.text.err, /ingest: 1\/1 files, \d+ lines, \d+ new events, [\d.]+ MB\/s\n.*ingest: \d+ new events loaded; updating the derived tables\n/s, 'progress goes to stderr')
  t.match(io.text.out, /in [\d.]+ s \([\d.]+ s of it updating the derived tables\)/)
  t.equal(await runAnalysisCommand('export', ['--parquet', join(dir, 'pq'), '--db', db], io), 0)
  t.ok(existsSync(join(dir, 'pq', 'daily_traffic.parquet')))
})

test('simulate defaults to seed 1 and schemaVersion 2', async t => {
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

const bad: Array<[string, string[], RegExp]> = [
  ['ingest', ['--db', 'x.duckdb'], /"<dir>" must be at least one data directory/],
  ['ingest', ['dir'], /flag "--db" must be given/],
  ['ingest', ['dir', '--db'], /flag "--db <value>" must be given a value/],
  ['ingest', ['dir', '--bd', 'x'], /unknown flag "--bd"; expected one of: --db, --memory-limit/],
  ['ingest', ['dir', '--db', 'x', '--memory-limit', 'lots'], /flag "--memory-limit" must be a size such as 512MB or 2GB; received "lots"/],
  ['export', ['--db', 'x.duckdb'], /flag "--parquet" must be given/],
  ['export', ['stray', '--db', 'x'], /must be a flag with a value \(no positional arguments\)/],
  ['simulate', ['--installations', 'many', '--days', '1', '--out', 'o'], /flag "--installations" must be an integer >= 1; received "many"/],
  ['simulate', ['--installations', '0', '--days', '1', '--out', 'o'], /"--installations" must be an integer >= 1/],
  ['simulate', ['--installations', '1', '--days', '1', '--out', 'o', '--seed=-1'], /"--seed" must be an integer >= 0/],
  ['simulate', ['--installations', '1', '--days', '1', '--out', 'o', '--schema-version', '3'], /"--schema-version" must be 1 or 2/],
  ['simulate', ['--installations', '1', '--days', '1', '--out', 'o', '--start', '2026-13-45'], /"--start" must be a date YYYY-MM-DD/],
  ['simulate', ['--installations', '1', '--days', '1'], /flag "--out" must be given/],
  ['simulate', ['--installations', '1', '--days', '1', '--out', ''], /flag "--out" must be given; received nothing/],
  ['simulate', ['--installations', '1', '--days', '1', '--out', 'o', '--slower', '/nope=2'], /flag "--slower" must be <endpoint>=<factor> with one of \/ \/health .* and a factor > 0; received "\/nope=2"/],
  ['simulate', ['--installations', '1', '--days', '1', '--out', 'o', '--errors', '/orders=0'], /flag "--errors" must be <endpoint>=<factor>.*received "\/orders=0"/],
  ['simulate', ['--installations', '1', '--days', '1', '--out', 'o', '--slower', '/books'], /flag "--slower" must be <endpoint>=<factor>.*received "\/books"/]
]
for (const [name, argv, message] of bad) {
  test(`${name} ${argv.join(' ')}: exit 2, the error names the flag, usage printed`, async t => {
    const io = capture()
    t.equal(await runAnalysisCommand(name, argv, io), 2)
    t.match(io.text.err, message)
    t.match(io.text.err, /Usage:/)
  })
}

test('an unknown command exits 2 with the usage', async t => {
  const io = capture()
  t.equal(await runAnalysisCommand('ingets', [], io), 2)
  t.match(io.text.err, /unknown command "ingets"\nUsage:/)
})

test('a failure that is not the command line exits 1 with its message', async t => {
  const dir = t.testdir({ 'not-a-db': 'plain text' })
  const io = capture()
  t.equal(await runAnalysisCommand('export', ['--db', join(dir, 'not-a-db'), '--parquet', join(dir, 'out')], io), 1)
  t.ok(io.text.err.length > 0)
})

test('the bin dispatches the analysis subcommands', async t => {
  const io = capture()
  const code = await main(['simulate', '--days', '1'], { ...io, env: {}, stopped: new Promise(() => {}) } as unknown as MainIo)
  t.equal(code, 2)
  t.match(io.text.err, /flag "--installations" must be given/)
})
