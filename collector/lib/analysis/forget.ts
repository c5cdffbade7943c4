import { open, rename, rm, type FileHandle } from 'node:fs/promises'
import { basename, dirname, join } from 'node:path'
import { gzipSync } from 'node:zlib'
import type { DuckDBConnection } from '@duckdb/node-api'
import { DEFAULTS } from '../options'
import { listFiles, parseObject, readMembers, type StoredFile, type TornMember } from '../reader'
import { syncDir } from '../storage/layout'
import { receiverRuns, stillOpen } from '../storage/pid'
import { DERIVED_INSTALLATION_TABLES, RAW_INSTALLATION_TABLES } from './columns'
import { openDatabase, rows } from './db'
import { dropUncommitted, literal, NEXT_RID, UPDATE } from './model'

export interface ForgetProgress {
  /** Stored files found, and how many were read so far. */
  files: number
  filesRead: number
  /** Files rewritten so far, and the events taken out of them. */
  rewritten: number
  events: number
  /**
   * What was just done to `file`: `written` (the new version is synced next to it, under a name no reader lists),
   * `renamed` (it replaced the file, or, left with no event, the file was deleted; the directory is synced), or
   * `done` (the file is counted in the totals above).
   */
  step: 'written' | 'renamed' | 'done'
  file: string
}

export interface ForgetOptions {
  onProgress?(progress: ForgetProgress): void
}

export interface ForgetSummary {
  /** Rows of the installation deleted from the database's raw tables, by table. */
  deleted: Record<string, number>
  /** Files rewritten without the installation's events, and how many of its events they held. */
  rewritten: string[]
  events: number
  /** Files holding its events that a receiver may still append to: kept as they are, for a later run. */
  pending: string[]
  /** Torn ends of rewritten files: unreadable (ingest never reads past a tear), so not carried into the new file. */
  dropped: TornMember[]
}

/** Where a file's new version is written: next to it (a rename stays in the directory), under a name no reader lists. */
const temporary = (file: string): string => join(dirname(file), `.${basename(file)}.forget`)

/**
 * Deletes an installation's rows from the raw tables, then brings the derived tables up to date as ingest does (so
 * they equal what a rebuild without its events gives), deletes whatever derived row still names it, and records it
 * in `forgotten`, which ingest consults: all in one transaction.
 */
async function forgetRows (connection: DuckDBConnection, clusterId: string): Promise<Record<string, number>> {
  const id = literal(clusterId)
  const next = Number((await rows(connection, NEXT_RID))[0].n)
  const mine = new Map<string, string>()
  const where = (name: string): string => mine.get(name) ?? `anonymous_id = ${id}`
  // Each child's rows are found through its parent's (so the parents are deleted last).
  for (const { name, parent, on } of [...RAW_INSTALLATION_TABLES].reverse()) {
    if (parent !== undefined) mine.set(name, `(${(on as string[]).join(', ')}) IN (SELECT ${(on as string[]).join(', ')} FROM ${parent} WHERE ${where(parent)})`)
  }
  // A failure leaves the transaction open: closing the database rolls it back.
  await connection.run('BEGIN TRANSACTION')
  await connection.run([
    dropUncommitted(next),
    `INSERT INTO forgotten SELECT ${id}, now()::TIMESTAMP WHERE NOT EXISTS (SELECT 1 FROM forgotten WHERE anonymous_id = ${id})`,
    `INSERT INTO ingest_dirty SELECT DISTINCT anonymous_id, instance_id, NULL FROM events WHERE anonymous_id = ${id}`,
    `INSERT INTO ingest_dirty SELECT DISTINCT anonymous_id, instance_id, report_id FROM parts WHERE anonymous_id = ${id}`
  ].join(';\n'))
  const deleted: Record<string, number> = {}
  for (const { name } of RAW_INSTALLATION_TABLES) deleted[name] = (await connection.run(`DELETE FROM ${name} WHERE ${where(name)}`)).rowsChanged
  await connection.run(UPDATE)
  for (const name of DERIVED_INSTALLATION_TABLES) await connection.run(`DELETE FROM ${name} WHERE anonymous_id = ${id}`)
  await connection.run('COMMIT')
  return deleted
}

interface Rewritten {
  /** Events of the installation taken out. */
  events: number
  /** Where the offset ingest had reached (a member boundary) is in the new file. */
  offset: number
  size: number
  torn?: TornMember
}

/** Whether a stored line is an event of the installation (the id's text is looked for before any line is parsed). */
const isTheirs = (line: string, clusterId: string): boolean => line.includes(clusterId) && parseObject(line)?.anonymousId === clusterId

/** Whether `file` holds an event of the installation. */
async function holds (file: string, clusterId: string): Promise<boolean> {
  for await (const member of readMembers(file)) if (member.lines.some(line => isTheirs(line, clusterId))) return true
  return false
}

/** Copies bytes [from, to) of `source` to the end of `target`, at `at`; returns the new end. */
async function copy (source: FileHandle, target: FileHandle, from: number, to: number, at: number): Promise<number> {
  const buffer = Buffer.allocUnsafe(Math.min(1 << 20, Math.max(to - from, 1)))
  for (let offset = from; offset < to;) {
    const { bytesRead } = await source.read(buffer, 0, Math.min(buffer.length, to - offset), offset)
    await target.write(buffer, 0, bytesRead, at)
    offset += bytesRead
    at += bytesRead
  }
  return at
}

/**
 * Writes `file` without the installation's events to its temporary name and syncs it, or writes nothing (undefined)
 * when it holds none. Members without them are copied byte for byte; one with them is compressed again with what
 * remains (nothing, when every line was the installation's). `ingested` is where ingest's reading of the file stopped.
 */
async function writeWithout (file: string, clusterId: string, ingested: number): Promise<Rewritten | undefined> {
  const source = await open(file, 'r')
  let target: FileHandle | undefined
  try {
    let torn: TornMember | undefined
    let events = 0
    /** Bytes of the old file up to `copied` are in the new one, which is `size` long. */
    let copied = 0
    let size = 0
    let offset = ingested === 0 ? 0 : undefined
    let end = 0
    for await (const member of readMembers(file, 0, t => { torn = t })) {
      const kept = member.lines.filter(line => !isTheirs(line, clusterId))
      if (kept.length < member.lines.length) {
        target ??= await open(temporary(file), 'w')
        size = await copy(source, target, copied, member.offset, size)
        events += member.lines.length - kept.length
        if (kept.length > 0) {
          const compressed = gzipSync(kept.join('\n') + '\n', { level: DEFAULTS.gzipLevel })
          await target.write(compressed, 0, compressed.length, size)
          size += compressed.length
        }
        copied = member.end
      }
      end = member.end
      // Where the new file's bytes for the old ones up to here end: the old bytes copied as they are, plus `size`.
      if (member.end === ingested) offset = size + (member.end - copied)
    }
    if (target === undefined) return undefined
    size = await copy(source, target, copied, end, size)
    await target.datasync()
    return { events, offset: offset ?? size, size, torn }
  } finally {
    await source.close()
    await target?.close()
  }
}

/**
 * Replaces one stored file by its version without the installation's events: written and synced under another
 * name, then renamed over it (and deleted, when nothing is left in it), and the directory synced, so a crash leaves
 * the old file or the new one, whole. Ingest
 * state first says to read the file from its start (either version then reads right: the events stored already are
 * skipped as duplicates), and once renamed, where in the new file ingest had got to.
 */
async function rewrite (connection: DuckDBConnection, { file }: StoredFile, clusterId: string, report: (step: ForgetProgress['step']) => void): Promise<Rewritten | undefined> {
  const [state] = await rows(connection, `SELECT "offset" FROM ingest_files WHERE file = ${literal(file)}`)
  const rewritten = await writeWithout(file, clusterId, state === undefined ? -1 : Number(state.offset))
  if (rewritten === undefined) return undefined
  await connection.run(`UPDATE ingest_files SET "offset" = 0 WHERE file = ${literal(file)}`)
  report('written')
  await rename(temporary(file), file)
  if (rewritten.size === 0) await rm(file)
  await syncDir(dirname(file))
  report('renamed')
  await connection.run(`UPDATE ingest_files SET "offset" = ${rewritten.offset}, size = ${rewritten.size} WHERE file = ${literal(file)};
    DELETE FROM ingest_files WHERE file = ${literal(file)} AND size = 0`)
  return rewritten
}

/**
 * Forgets an installation (its cluster id, the events' `anonymousId`): its rows leave the database at `dbPath` (which
 * must exist), its events leave every stored file under `dirs`, and its id goes into `forgotten`, so that no later
 * ingest loads its events again, from any file or source. A file that a receiver running on its directory may still
 * append to is left as it is and listed in `pending`: running forget again once the receiver has moved to a newer
 * file (the next day, or past the size limit) rewrites it. What an earlier run killed midway left behind (a new
 * version never renamed) is removed.
 */
export async function forget (clusterId: string, dbPath: string, dirs: string[], options: ForgetOptions = {}): Promise<ForgetSummary> {
  const db = await openDatabase(dbPath, { create: false })
  try {
    const summary: ForgetSummary = { deleted: await forgetRows(db.connection, clusterId), rewritten: [], events: 0, pending: [], dropped: [] }
    const found = await Promise.all(dirs.map(async dir => {
      const files = await listFiles(dir)
      return { files, appending: stillOpen(files, await receiverRuns(dir)) }
    }))
    const progress: ForgetProgress = { files: found.reduce((n, { files }) => n + files.length, 0), filesRead: 0, rewritten: 0, events: 0, step: 'done', file: '' }
    const report = (step: ForgetProgress['step'], file: string): void => options.onProgress?.({ ...progress, step, file })
    for (const { files, appending } of found) {
      for (const stored of files) {
        await rm(temporary(stored.file), { force: true })
        progress.filesRead++
        const rewritten = appending.has(stored.file) ? undefined : await rewrite(db.connection, stored, clusterId, step => report(step, stored.file))
        if (appending.has(stored.file) && await holds(stored.file, clusterId)) summary.pending.push(stored.file)
        if (rewritten !== undefined) {
          summary.rewritten.push(stored.file)
          summary.events += rewritten.events
          if (rewritten.torn !== undefined) summary.dropped.push(rewritten.torn)
          progress.rewritten++
          progress.events += rewritten.events
        }
        report('done', stored.file)
      }
    }
    return summary
  } finally {
    db.close()
  }
}
