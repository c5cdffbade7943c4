import { execFile } from 'node:child_process'
import { existsSync } from 'node:fs'
import { join } from 'node:path'
import { DuckDBInstance } from '@duckdb/node-api'
import { test } from 'tap'
import { openDatabase } from '../lib/analysis/db'
import { MODEL_VERSION } from '../lib/analysis/model'
import { holdOpen } from './helpers/hold-database'

// Wrong invocations of the built bin, each a real process on real files: the exit code, the one line on stderr (usage
// errors: the flag and what it must be, then where help is; failures: the path and the cause in words), nothing on
// stdout, and nothing created that the command was not asked to create. `npm test` builds dist/ first.

const BIN = join(__dirname, '..', 'dist', 'cli.js')
const NAME = 'fastify-anonymous-telemetry-collector'

interface Case {
  argv: string[]
  code: 1 | 2
  /** The whole of stderr: for a usage error its first line (the `see … --help` line is checked for every one). */
  message: string
  /** Paths that must not exist afterwards. */
  creates?: string[]
  env?: NodeJS.ProcessEnv
}

async function run (argv: string[], env: NodeJS.ProcessEnv = {}): Promise<{ code: number | null, stdout: string, stderr: string }> {
  return await new Promise(resolve => {
    execFile(process.execPath, [BIN, ...argv], { env: { PATH: process.env.PATH, ...env }, timeout: 60_000 }, (error, stdout, stderr) => {
      resolve({ code: error === null ? 0 : (error as { code?: number }).code ?? null, stdout, stderr })
    })
  })
}

test('wrong invocations: exit code and one line each', async t => {
  t.ok(existsSync(BIN), 'dist/cli.js is built (npm run build)')
  const dir = t.testdir({ 'a-file': 'x', 'not-a-db': 'plain text', data: {} })
  const file = join(dir, 'a-file')
  const db = join(dir, 'fleet.duckdb')
  ;(await openDatabase(db)).close()
  const otherModel = join(dir, 'model-1.duckdb')
  const instance = await DuckDBInstance.create(otherModel)
  const connection = await instance.connect()
  await connection.run('CREATE TABLE events (x INTEGER)')
  connection.closeSync()
  instance.closeSync()
  const locked = join(dir, 'locked.duckdb')
  const holder = await holdOpen(locked)
  t.teardown(holder.release)
  const lockedCause = `process ${holder.pid} has it open (one process at a time: run ingest, report and export one after another)`
  const missing = join(dir, 'missing.duckdb')
  const out = join(dir, 'out')
  const keys = ['--write-key', 'k']

  const cases: Case[] = [
    // Usage errors (exit 2): the tool.
    { argv: [], code: 2, message: 'a command is required' },
    { argv: ['ingets'], code: 2, message: 'unknown command "ingets"; did you mean ingest?' },
    // serve
    { argv: ['serve'], code: 2, message: '--data is required: <dir>' },
    { argv: ['serve', '--prot', '9000'], code: 2, message: 'unknown flag --prot; did you mean --port?' },
    { argv: ['serve', '--data', out], code: 2, message: '--write-key is required: <key>[=<sourceId>] (or TELEMETRY_WRITE_KEYS set)', creates: [out] },
    { argv: ['serve', '--data', out, ...keys, '--port', '80000'], code: 2, message: '--port must be an integer from 0 to 65535; received "80000"' },
    { argv: ['serve', '--data', out, ...keys, '--log-level', 'loud'], code: 2, message: '--log-level must be one of fatal, error, warn, info, debug, trace, silent; received "loud"' },
    { argv: ['serve', '--data', out, ...keys, 'extra'], code: 2, message: 'unexpected argument "extra" (serve takes flags only)' },
    { argv: ['serve', '--data', out, ...keys, '--port'], code: 2, message: '--port needs a value: <n>' },
    // ingest
    { argv: ['ingest', '--db', db], code: 2, message: '<dir>... is required: one or more data directories (a receiver\'s --data or a Segment S3 sync)' },
    { argv: ['ingest', dir], code: 2, message: '--db is required: <file.duckdb>' },
    { argv: ['ingest', dir, '--bd', db], code: 2, message: 'unknown flag --bd; did you mean --db?' },
    { argv: ['ingest', dir, '--db', db, '--memory-limit', 'lots'], code: 2, message: '--memory-limit must be a size such as 512MB or 2GB; received "lots"' },
    { argv: ['ingest', dir, '--db', db, '--quiet=yes'], code: 2, message: '--quiet takes no value; received "yes"' },
    // report
    { argv: ['report', '--db', db], code: 2, message: '--out is required: <dir>', creates: [out] },
    { argv: ['report', '--db', db, '--out', out, '--min-installations', '0'], code: 2, message: '--min-installations must be an integer ≥ 1; received "0"', creates: [out] },
    { argv: ['report', '--db', db, '--out', out, '--out', out], code: 2, message: '--out was given twice', creates: [out] },
    // export
    { argv: ['export', '--db', db, '--parquet'], code: 2, message: '--parquet needs a value: <dir>' },
    { argv: ['export', '--db', db, '--parquet', out, '--format', 'csv'], code: 2, message: 'unknown flag --format', creates: [out] },
    // simulate
    { argv: ['simulate', '--installations', '-3', '--days', '1', '--out', out], code: 2, message: '--installations must be an integer ≥ 1; received "-3"', creates: [out] },
    { argv: ['simulate', '--installations', '1', '--days', '1'], code: 2, message: '--out is required: <dir>' },
    { argv: ['simulate', '--installations', '1', '--days', '1', '--out', out, '--schema-version', '4'], code: 2, message: '--schema-version must be one of 1, 2, 3; received "4"', creates: [out] },
    { argv: ['simulate', '--installations', '1', '--days', '1', '--out', out, '--start', '2026-02-30x'], code: 2, message: '--start must be a date YYYY-MM-DD; received "2026-02-30x"', creates: [out] },

    // Failures of the work (exit 1): the path and the cause in words.
    { argv: ['serve', '--data', '/proc/nope', ...keys, '--port', '0'], code: 1, message: 'cannot create the directory /proc/nope: its parent does not exist or takes no new directories' },
    { argv: ['serve', '--data', join(file, 'data'), ...keys, '--port', '0'], code: 1, message: `cannot create the directory ${join(file, 'data', 'segment-logs')}: it or a part of its path is a file, not a directory` },
    { argv: ['simulate', '--installations', '1', '--days', '1', '--out', '/proc/nope/sim'], code: 1, message: 'cannot create the directory /proc/nope: its parent does not exist or takes no new directories' },
    { argv: ['ingest', '/nonexistent', '--db', missing], code: 1, message: 'cannot read the directory /nonexistent: it does not exist', creates: [missing] },
    { argv: ['ingest', file, '--db', missing], code: 1, message: `cannot read the directory ${file}: it or a part of its path is a file, not a directory`, creates: [missing] },
    { argv: ['ingest', join(dir, 'data'), '--db', locked], code: 1, message: `cannot open the database ${locked}: ${lockedCause}` },
    { argv: ['report', '--db', missing, '--out', out], code: 1, message: `no fleet database at ${missing} (--db): run ingest first`, creates: [missing, out] },
    { argv: ['report', '--db', locked, '--out', out], code: 1, message: `cannot open the database ${locked}: ${lockedCause}`, creates: [out] },
    { argv: ['report', '--db', otherModel, '--out', out], code: 1, message: `database "${otherModel}" holds tables of model 1, this collector reads and writes model ${MODEL_VERSION}; ingest the stored files into a new database file (the files themselves are unchanged)`, creates: [out] },
    { argv: ['report', '--db', db, '--out', file], code: 1, message: `cannot create the directory ${file}: a file of that name is in the way` },
    { argv: ['export', '--parquet', out, '--db', missing], code: 1, message: `no fleet database at ${missing} (--db): run ingest first`, creates: [missing, out] },
    { argv: ['export', '--parquet', out, '--db', join(dir, 'not-a-db')], code: 1, message: `cannot open the database ${join(dir, 'not-a-db')}: the file is not a DuckDB database`, creates: [out] },
    { argv: ['export', '--parquet', '/proc/nope/pq', '--db', db], code: 1, message: 'cannot create the directory /proc/nope: its parent does not exist or takes no new directories' }
  ]
  t.ok(cases.length >= 25, `${cases.length} invocations`)
  // Three at a time: each is a process loading DuckDB.
  const queue = [...cases]
  await Promise.all(Array.from({ length: 3 }, async () => {
    for (let each = queue.shift(); each !== undefined; each = queue.shift()) {
      const { argv, code, message, creates = [], env } = each
      const command = argv[0] !== undefined && !argv[0].startsWith('-') && argv[0] !== 'ingets' ? `${NAME} ${argv[0]}` : NAME
      const result = await run(argv, env)
      const expected = code === 2 ? `${command}: ${message}\nsee \`${command} --help\`\n` : `${command}: ${message}\n`
      t.same({ code: result.code, stderr: result.stderr, stdout: result.stdout }, { code, stderr: expected, stdout: '' }, argv.join(' '))
      for (const path of creates) t.notOk(existsSync(path), `${argv.join(' ')}: ${path} not created`)
    }
  }))
})

test('help and version: exit 0, on stdout', async t => {
  for (const argv of [['--help'], ['-h'], ['help'], ['report', '--help'], ['serve', '-h'], ['ingest', '--db', 'x', '--bogus', '--help']]) {
    const result = await run(argv)
    t.equal(result.code, 0, argv.join(' '))
    t.match(result.stdout, /^Usage: fastify-anonymous-telemetry-collector /)
    t.equal(result.stderr, '')
  }
  t.match((await run(['--version'])).stdout, /^\d+\.\d+\.\d+\n$/)
})
