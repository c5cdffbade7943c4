import { on } from 'node:events'
import { extname, join } from 'node:path'
import { Worker } from 'node:worker_threads'
import type { TornMember } from '../../reader'
import { renumber, type Tables } from './flatten'

/** A file to read from `from` (a member boundary): `index` is its place in the list ingest found. */
export interface ParseFile { index: number, file: string, sourceId: string, receivedDay: number, from: number }

export interface ParseJob {
  files: ParseFile[]
  /** The id of the first record. */
  firstRid: number
  /** Uncompressed bytes of members after which a batch ends (at the end of a member). */
  batchBytes: number
  /** Worker threads parsing (each takes every n-th batch). */
  workers: number
}

/** What one worker is given: the job, and which of the batches are its own. */
export interface WorkerJob { files: ParseFile[], batchBytes: number, worker: number, workers: number }

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
 * The batches of `job` in reading order, read, parsed and flattened on worker threads: decoding the members,
 * `JSON.parse` and flattening take more than half of a load's CPU, which the main thread (busy handing rows to
 * DuckDB's appender) would otherwise spend on top of its own. Every worker decodes every member, which is cheap, to
 * find the batch boundaries, and parses only its own batches (batch n is worker n mod `workers`'s), so no worker
 * waits for another. Each runs ahead by at most IN_FLIGHT batches; a failure of a worker (an I/O error) is thrown
 * here, and the workers are stopped when the caller stops early or fails.
 */
export async function * parseFiles ({ files, firstRid, batchBytes, workers: count }: ParseJob): AsyncGenerator<Batch> {
  // A young generation larger than the default makes the scavenges of parsing rarer.
  const workers = Array.from({ length: count }, (_, worker) => new Worker(WORKER, {
    workerData: { files, batchBytes, worker, workers: count } satisfies WorkerJob,
    resourceLimits: { maxYoungGenerationSizeMb: 64 }
  }))
  // Subscribed at once, so that no message is emitted unheard. A worker exits once it posted its last batch, and Node
  // delivers every message posted before the exit event.
  const posted = workers.map(worker => on(worker, 'message', { close: ['exit'] }))
  // Not events.once: it would reject, unheard, when a worker fails.
  const exited = workers.map(async worker => await new Promise(resolve => worker.once('exit', resolve)))
  let seq = 0
  let rid = firstRid
  try {
    for (let n = 0; ; n++) {
      const next = await posted[n % count].next()
      // The worker owning batch n has exited without it: batch n - 1 was the last.
      if (next.done === true) break
      const [batch] = next.value as [Omit<Batch, 'nextRid'>]
      renumber(batch.tables, seq, rid)
      seq += batch.tables.events.count
      rid += batch.tables.records.count
      yield { ...batch, nextRid: rid }
      workers[n % count].postMessage(null)
    }
    // The others end on their own too, having nothing more to post: stopping them could lose what they write on the
    // way out (their coverage, when it is measured).
    await Promise.all(exited)
  } finally {
    await Promise.all(workers.map(async worker => await worker.terminate()))
  }
}
