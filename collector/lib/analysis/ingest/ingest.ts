import { stat } from 'node:fs/promises'
import { availableParallelism } from 'node:os'
import { listFiles, type StoredFile, type TornMember } from '../../reader'
import type { DuckDBConnection } from '@duckdb/node-api'
import { openDatabase, rows } from '../db'
import { dropUncommitted, load as loadStage, NEXT_RID, UPDATE, upsertFile } from '../model'
import { parseFiles, type ParseFile } from './parse'
import { Stage } from './stage'

/** Uncompressed bytes of members per batch from the parse workers (at most the chunk size). */
const BATCH_BYTES = 1024 * 1024
/**
 * Worker threads parsing. With one, the main thread waited for it 17 to 20 s of the benchmark's 29 days; two made
 * the bulk ingest faster and steadier on this 2-core machine (median 61.9 against 66.5 s, three runs each,
 * alternating). More were not measured.
 */
const PARSE_WORKERS = Math.min(2, availableParallelism())

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
  /** `load` while files are read and loaded; `update` once, when the derived tables start to be brought up to date. */
  phase: 'load' | 'update'
}

export interface IngestOptions {
  onProgress?(progress: IngestProgress): void
  /**
   * Uncompressed bytes of events staged before they are handed to DuckDB in one transaction (default 128 MiB). A chunk
   * holding more records than a DuckDB row group (122,880; the simulated fleet has about 1,400 per MB) has them written
   * to the database file directly rather than through the write-ahead log, and every chunk checks its events against
   * all those stored: at 29 days, 16 MiB chunks took 130 core-seconds and 128 MiB ones 105.
   */
  chunkBytes?: number
  /** DuckDB's memory_limit for this run, e.g. `'2GB'` (default DuckDB's: 80 % of the machine's RAM); past it DuckDB spills to disk. */
  memoryLimit?: string
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
  /** Of `seconds`, the time spent bringing the derived tables up to date after loading. */
  updateSeconds: number
}

interface Pending { stored: StoredFile, offset: number, size: number }

async function count (connection: DuckDBConnection, sql: string): Promise<number> {
  return Number((await rows(connection, sql))[0].n)
}

/**
 * Loads every stored event under `dirs` (Segment's S3 layout, from this package's receiver or a Segment S3 sync) into
 * the fleet database at `dbPath`, then brings the derived tables up to date. Each file is read from the end of its last
 * complete member seen by an earlier run, so a re-run reads only what is new; an event whose messageId is stored
 * already is skipped, whatever file or source it comes from; a torn member is skipped and reported, never fatal.
 */
export async function ingest (dirs: string[], dbPath: string, options: IngestOptions = {}): Promise<IngestSummary> {
  const started = process.hrtime.bigint()
  const chunkBytes = options.chunkBytes ?? 128 * 1024 * 1024
  // Listed first: a directory that is missing or unreadable fails the run before a database is created.
  const files = (await Promise.all(dirs.map(dir => listFiles(dir)))).flat()
  const db = await openDatabase(dbPath, { memoryLimit: options.memoryLimit })
  const loader = await db.instance.connect()
  let nextRid = await count(db.connection, NEXT_RID)
  await db.connection.run(dropUncommitted(nextRid))
  // Two stages on two connections: the rows of the next chunk go to one while DuckDB loads the other.
  const stages = [await Stage.create(db.connection), await Stage.create(loader)]
  let stage = stages[0]
  const closeStages = (): void => {
    for (const each of stages.splice(0)) each.close()
  }
  let loading = Promise.resolve()
  const skipped: TornMember[] = []
  const progress: IngestProgress = { files: files.length, filesRead: 0, lines: 0, bytes: 0, events: 0, rate: 0, phase: 'load' }
  /** Files read into the stage since the last load, with the offset reached. */
  let touched = new Map<string, Pending>()
  let staged = 0
  /** The id of the first record staged since the last flush. */
  let firstRid = nextRid

  const report = (): void => {
    const seconds = Number(process.hrtime.bigint() - started) / 1e9
    progress.rate = progress.bytes / 1e6 / seconds
    options.onProgress?.({ ...progress })
  }

  // The staged rows and the offsets of the files they came from are committed together, in one call: DuckDB goes on
  // with the next statement without waiting for Node, whose thread is busy staging the next chunk.
  const load = async ({ connection }: Stage, files: Pending[], from: number, to: number): Promise<void> => {
    const offsets = files.map(({ stored, offset, size }) => upsertFile(stored.file, stored.sourceId, stored.receivedDay, offset, size))
    progress.events += await count(connection, ['BEGIN TRANSACTION', loadStage(from, to), ...offsets, 'COMMIT', 'SELECT count(*) AS n FROM fresh'].join(';\n'))
    report()
  }

  /** Hands the stage to DuckDB (after the load before it: loads run one at a time) and waits until the other is free. */
  const flush = async (): Promise<void> => {
    const files = [...touched.values()].map(pending => ({ ...pending }))
    touched = new Map()
    staged = 0
    stage.flush()
    const from = firstRid
    const to = firstRid = nextRid
    const previous = loading
    const full = stage
    loading = previous.then(async () => { await load(full, files, from, to) })
    stage = full === stages[0] ? stages[1] : stages[0]
    await previous
  }

  try {
    const known = new Map((await rows(db.connection, 'SELECT file, "offset" FROM ingest_files')).map(r => [r.file as string, Number(r.offset)]))
    const sizes = await Promise.all(files.map(async ({ file }) => (await stat(file)).size))
    const toRead: ParseFile[] = files.flatMap(({ file, sourceId, receivedDay }, index) => {
      const from = known.get(file) ?? 0
      return sizes[index] > from ? [{ index, file, sourceId, receivedDay, from }] : []
    })
    for await (const batch of parseFiles({ files: toRead, firstRid: nextRid, batchBytes: Math.min(chunkBytes, BATCH_BYTES), workers: PARSE_WORKERS })) {
      stage.append(batch.tables)
      nextRid = batch.nextRid
      for (const [index, offset] of batch.files) {
        touched.set(files[index].file, { stored: files[index], offset, size: sizes[index] })
        progress.filesRead = index + 1
      }
      progress.lines += batch.lines
      progress.bytes += batch.bytes
      skipped.push(...batch.skipped)
      staged += batch.staged
      if (staged >= chunkBytes) await flush()
    }
    progress.filesRead = files.length
    await flush()
    await loading
    // The appenders are closed before the update reads the tables they appended to.
    closeStages()
    progress.phase = 'update'
    report()
    const updating = process.hrtime.bigint()
    // What this run appended is checkpointed first, so that the update reads it compressed and with each row group's
    // min/max rather than from the uncompressed row groups behind the write-ahead log: at 29 days the update took
    // 21 s without, and 3.6 s of checkpoint plus 12.7 s with.
    await db.connection.run('CHECKPOINT')
    await db.connection.run('BEGIN TRANSACTION')
    await db.connection.run(UPDATE)
    await db.connection.run('COMMIT')
    const updateSeconds = Number(process.hrtime.bigint() - updating) / 1e9
    const seconds = Number(process.hrtime.bigint() - started) / 1e9
    return {
      ...progress,
      duplicates: progress.lines - progress.events - skipped.filter(s => s.reason.startsWith('line ')).length,
      skipped,
      reports: await count(db.connection, 'SELECT count(*) AS n FROM reports'),
      installations: await count(db.connection, 'SELECT count(*) AS n FROM installations'),
      seconds,
      updateSeconds
    }
  } finally {
    // A load still running when reading failed must end before its connection closes.
    await Promise.allSettled([loading])
    closeStages()
    loader.closeSync()
    db.close()
  }
}
