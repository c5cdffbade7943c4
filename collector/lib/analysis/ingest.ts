import { mkdtemp, rm, stat, writeFile } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { listFiles, readMembers, type StoredFile, type TornMember } from '../reader'
import { openDatabase, rows, type Database } from './db'
import { loadStaged, REBUILD, upsertFile } from './model'

export interface IngestProgress {
  /** Stored files found under the given directories, and how many of them were read so far. */
  files: number
  filesRead: number
  /** Lines read so far (uncompressed bytes of them) and new events stored so far. */
  lines: number
  bytes: number
  events: number
  /** Uncompressed megabytes per second since the start. */
  rate: number
}

export interface IngestOptions {
  onProgress?(progress: IngestProgress): void
  /** Uncompressed bytes decoded before they are handed to DuckDB in one transaction (default 64 MiB). */
  chunkBytes?: number
}

export interface IngestSummary extends IngestProgress {
  /** New events stored by this run; lines whose messageId was already stored (or repeated within the run) are duplicates. */
  duplicates: number
  /** Torn members (reading of their file stops there) and lines that are not events, each skipped and reported. */
  skipped: TornMember[]
  /** Complete reports and distinct installations in the database after this run. */
  reports: number
  installations: number
  seconds: number
}

interface Pending { stored: StoredFile, offset: number, size: number }

/** Lines decoded but not yet in the database, written to a temporary NDJSON file that DuckDB reads with explicit columns. */
class Chunk {
  lines: string[] = []
  bytes = 0
  readonly files = new Map<string, Pending>()
}

function isEvent (line: string): boolean {
  try {
    const event: unknown = JSON.parse(line)
    return typeof event === 'object' && event !== null && typeof (event as { messageId?: unknown }).messageId === 'string'
  } catch {
    return false
  }
}

async function count (db: Database, sql: string): Promise<number> {
  return Number((await rows(db.connection, sql))[0].n)
}

/**
 * Loads every stored event under `dirs` (Segment's S3 layout, from this package's receiver or a Segment S3 sync) into
 * the fleet database at `dbPath`, then rebuilds the derived tables. Each file is read from the end of its last
 * complete member seen by an earlier run, so a re-run reads only what is new; an event whose messageId is stored
 * already is skipped, whatever file or source it comes from; a torn member is skipped and reported, never fatal.
 */
export async function ingest (dirs: string[], dbPath: string, options: IngestOptions = {}): Promise<IngestSummary> {
  const started = process.hrtime.bigint()
  const chunkBytes = options.chunkBytes ?? 64 * 1024 * 1024
  const db = await openDatabase(dbPath)
  const staging = await mkdtemp(join(tmpdir(), 'fleet-ingest-'))
  const stagedFile = join(staging, 'events.ndjson')
  const skipped: TornMember[] = []
  const files = (await Promise.all(dirs.map(dir => listFiles(dir)))).flat()
  const progress: IngestProgress = { files: files.length, filesRead: 0, lines: 0, bytes: 0, events: 0, rate: 0 }
  let chunk = new Chunk()

  const report = (): void => {
    const seconds = Number(process.hrtime.bigint() - started) / 1e9
    progress.rate = progress.bytes / 1e6 / seconds
    options.onProgress?.({ ...progress })
  }

  const flush = async (): Promise<void> => {
    const { lines, files: touched } = chunk
    chunk = new Chunk()
    await writeFile(stagedFile, lines.length === 0 ? '' : lines.join('\n') + '\n')
    const before = await count(db, 'SELECT count(*) AS n FROM events')
    await db.connection.run('BEGIN TRANSACTION')
    if (lines.length > 0) await db.connection.run(loadStaged(stagedFile))
    for (const { stored, offset, size } of touched.values()) {
      await db.connection.run(upsertFile(stored.file, stored.sourceId, stored.receivedDay, offset, size))
    }
    await db.connection.run('COMMIT')
    progress.events += await count(db, 'SELECT count(*) AS n FROM events') - before
    report()
  }

  try {
    const known = new Map((await rows(db.connection, 'SELECT file, "offset" FROM ingest_files')).map(r => [r.file as string, Number(r.offset)]))
    for (const stored of files) {
      const { size } = await stat(stored.file)
      const from = known.get(stored.file) ?? 0
      progress.filesRead++
      if (size <= from) continue
      const pending: Pending = { stored, offset: from, size }
      chunk.files.set(stored.file, pending)
      // The source id goes with each line; the line itself is embedded verbatim and DuckDB reads only named fields.
      const prefix = `{"s":${JSON.stringify(stored.sourceId)},"d":${stored.receivedDay},"e":`
      for await (const member of readMembers(stored.file, from, torn => skipped.push(torn))) {
        for (const [index, line] of member.lines.entries()) {
          progress.lines++
          progress.bytes += line.length + 1
          if (!isEvent(line)) {
            skipped.push({ file: stored.file, offset: member.offset, reason: `line ${index + 1} of the member is not an event with a messageId` })
            continue
          }
          chunk.lines.push(prefix + line + '}')
          chunk.bytes += line.length
        }
        pending.offset = member.end
        chunk.files.set(stored.file, pending)
        if (chunk.bytes >= chunkBytes) await flush()
      }
    }
    await flush()
    await db.connection.run(REBUILD)
    const seconds = Number(process.hrtime.bigint() - started) / 1e9
    return {
      ...progress,
      duplicates: progress.lines - progress.events - skipped.filter(s => s.reason.startsWith('line ')).length,
      skipped,
      reports: await count(db, 'SELECT count(*) AS n FROM reports'),
      installations: await count(db, 'SELECT count(*) AS n FROM installations'),
      seconds
    }
  } finally {
    db.close()
    await rm(staging, { recursive: true, force: true })
  }
}
