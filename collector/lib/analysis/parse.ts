import { on } from 'node:events'
import { extname, join } from 'node:path'
import { Worker } from 'node:worker_threads'
import type { TornMember } from '../reader'
import type { Tables } from './flatten'

/** A file to read from `from` (a member boundary): `index` is its place in the list ingest found. */
export interface ParseFile { index: number, file: string, sourceId: string, receivedDay: number, from: number }

export interface ParseJob {
  files: ParseFile[]
  /** The id of the first record. */
  firstRid: number
  /** Uncompressed bytes of events after which a batch ends, at the end of a member. */
  batchBytes: number
}

/** Whole members of the files, read, parsed and flattened. */
export interface Batch {
  tables: Tables
  /** Per file started, then per member read: the file's index and the offset reached (a member's end). */
  files: Array<[index: number, offset: number]>
  /** Lines read, their uncompressed bytes (each with its newline), and the bytes of the events among them. */
  lines: number
  bytes: number
  staged: number
  /** Torn members and lines that are no events, in the order they were met. */
  skipped: TornMember[]
  /** The id the next record gets. */
  nextRid: number
}

/** Batches a worker may have posted that were not taken yet: it waits for a credit beyond that. */
export const IN_FLIGHT = 16

// Under the test runner the sources run as TypeScript, built as JavaScript: the worker is the sibling of this file.
const WORKER = join(__dirname, `parse-worker${extname(__filename)}`)

/**
 * The batches of `job`, read, parsed and flattened on a worker thread: decoding the members, `JSON.parse` and
 * flattening take more than half of a load's CPU, which the main thread (busy handing rows to DuckDB's appender)
 * would otherwise spend on top of its own. The worker runs ahead by at most IN_FLIGHT batches; a failure of the
 * worker (an I/O error) is thrown here, and the worker is stopped when the caller stops early or fails.
 */
export async function * parseFiles (job: ParseJob): AsyncGenerator<Batch> {
  // A young generation larger than the default makes the scavenges of parsing rarer.
  const worker = new Worker(WORKER, { workerData: job, resourceLimits: { maxYoungGenerationSizeMb: 64 } })
  try {
    // The worker exits once it posted its last batch, and Node delivers every message posted before the exit event.
    for await (const [batch] of on(worker, 'message', { close: ['exit'] }) as AsyncIterable<[Batch]>) {
      yield batch
      worker.postMessage(null)
    }
  } finally {
    await worker.terminate()
  }
}
