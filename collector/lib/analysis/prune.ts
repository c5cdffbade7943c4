import { rm, rmdir, stat } from 'node:fs/promises'
import { dirname } from 'node:path'
import { listFiles } from '../reader'
import { receivedDay, syncDir } from '../storage/layout'
import { receiverRuns, stillOpen } from '../storage/pid'
import { openDatabase, rows } from './db'

const DAY_MS = 86_400_000

export interface PruneProgress {
  /** Stored files of the days to prune, how many were looked at so far, and how many of them deleted. */
  files: number
  filesChecked: number
  deleted: number
}

export interface PruneOptions {
  /** The clock (Unix ms): what "older" counts from. */
  now?: number
  onProgress?(progress: PruneProgress): void
}

/** A file of a day to prune that was kept: how far ingest read it (-1: never) of how many bytes. */
export interface Kept { file: string, offset: number, size: number }

export interface PruneSummary {
  /** Files deleted, and their bytes. */
  deleted: string[]
  bytes: number
  /** Files of those days that ingest has not read to their end: kept. */
  notIngested: Kept[]
  /** Files of those days that a receiver running on the directory may still append to: kept. */
  appending: string[]
}

/**
 * Deletes the stored files under `dir` of the received days that ended `days` days ago or earlier (with 30, on 31
 * January every day up to 31 December), each only once ingest has read it to its end into the database at `dbPath`
 * (which must exist; it is only read) and no receiver may append to it any more. The files kept are listed with
 * why. A day directory left empty is removed; each directory changed is synced, so the deletion survives a crash.
 */
export async function prune (dir: string, days: number, dbPath: string, options: PruneOptions = {}): Promise<PruneSummary> {
  const before = receivedDay(options.now ?? Date.now()) - days * DAY_MS
  const db = await openDatabase(dbPath, { readOnly: true })
  let ingested: Map<string, number>
  try {
    ingested = new Map((await rows(db.connection, 'SELECT file, "offset" FROM ingest_files')).map(r => [r.file as string, Number(r.offset)]))
  } finally {
    db.close()
  }
  const all = await listFiles(dir)
  const appending = stillOpen(all, await receiverRuns(dir))
  const old = all.filter(file => file.receivedDay < before)
  const summary: PruneSummary = { deleted: [], bytes: 0, notIngested: [], appending: [] }
  const progress: PruneProgress = { files: old.length, filesChecked: 0, deleted: 0 }
  const changed = new Set<string>()
  for (const { file } of old) {
    const { size } = await stat(file)
    const offset = ingested.get(file) ?? -1
    if (appending.has(file)) summary.appending.push(file)
    else if (offset !== size) summary.notIngested.push({ file, offset, size })
    else {
      await rm(file)
      changed.add(dirname(file))
      summary.deleted.push(file)
      summary.bytes += size
      progress.deleted++
    }
    progress.filesChecked++
    options.onProgress?.({ ...progress })
  }
  for (const day of changed) {
    // A day directory still holding a file (one kept, or not Segment's) stays.
    const removed = await rmdir(day).then(() => true, () => false)
    await syncDir(removed ? dirname(day) : day)
  }
  return summary
}
