import { readFile, rmdir, stat } from 'node:fs/promises'
import { join } from 'node:path'
import { test } from 'tap'
import { openDatabase } from '../lib/analysis/db'
import { FST_TELEMETRY_COLLECTOR_NO_DATABASE } from '../lib/errors'
import { inWords } from '../lib/failure'
import { ensureDir } from '../lib/storage/layout'
import { holdOpen } from './helpers/hold-database'

async function failure (work: Promise<unknown>): Promise<string> {
  try {
    await work
  } catch (error) {
    return inWords(error)
  }
  throw new Error('it did not fail')
}

test('a system call\'s failure in words: what it did, the path, why', async t => {
  const dir = t.testdir({ file: 'x', full: { one: 'x' } })
  t.equal(await failure(readFile(join(dir, 'none'))), `cannot open ${join(dir, 'none')}: it does not exist`)
  t.equal(await failure(ensureDir(join(dir, 'file'))), `cannot create the directory ${join(dir, 'file')}: a file of that name is in the way`)
  t.equal(await failure(stat(join(dir, 'file', 'x'))), `cannot read ${join(dir, 'file', 'x')}: it or a part of its path is a file, not a directory`)
  t.equal(await failure(rmdir(join(dir, 'full'))), `cannot rmdir ${join(dir, 'full')}: ENOTEMPTY`, 'a call or cause without words keeps its name')
  t.equal(inWords(new FST_TELEMETRY_COLLECTOR_NO_DATABASE('f.duckdb')), 'no fleet database at f.duckdb (--db): run ingest first')
  t.equal(inWords(new Error('fastify-anonymous-telemetry-collector: first line\nsecond')), 'first line', 'one line, without the package name')
})

test('ensureDir fails at once where the parent exists but takes no new directories (Node\'s recursive mkdir loops there)', async t => {
  t.equal(await failure(ensureDir('/proc/nope/deeper')), 'cannot create the directory /proc/nope: its parent does not exist or takes no new directories')
})

test('ensureDir creates missing parents, and a directory that exists or appears meanwhile is fine', async t => {
  const dir = join(t.testdir(), 'a', 'b', 'c')
  await Promise.all([ensureDir(dir), ensureDir(dir), ensureDir(join(dir, 'd'))])
  t.ok((await stat(join(dir, 'd'))).isDirectory())
  await ensureDir(dir)
})

test('a database DuckDB cannot open: the path and why, in words', async t => {
  const dir = t.testdir({ 'not-a-db': 'plain text' })
  await t.rejects(openDatabase(join(dir, 'not-a-db')), { code: 'FST_TELEMETRY_COLLECTOR_DATABASE', message: `cannot open the database ${join(dir, 'not-a-db')}: the file is not a DuckDB database` })
  await t.rejects(openDatabase(join(dir, 'no-dir', 'f.duckdb')), { code: 'FST_TELEMETRY_COLLECTOR_DATABASE', message: `cannot open the database ${join(dir, 'no-dir', 'f.duckdb')}: No such file or directory` })
  const locked = join(dir, 'locked.duckdb')
  const holder = await holdOpen(locked)
  t.teardown(holder.release)
  await t.rejects(openDatabase(locked, { readOnly: true }), { message: `cannot open the database ${locked}: process ${holder.pid} has it open (one process at a time: run ingest, report and export one after another)` })
})
