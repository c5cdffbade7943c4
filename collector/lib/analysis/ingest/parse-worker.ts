// A parse worker (see parse.ts): reads the files of its job member by member and cuts them into batches that end at
// member boundaries (so that the offset a batch reaches is a place a later run can start from). Of those batches it
// parses and flattens its own, and posts them.
import { on } from 'node:events'
import { parentPort, workerData } from 'node:worker_threads'
import type { MessagePort } from 'node:worker_threads'
import { parseObject, readMembers, type Member } from '../../reader'
import { Flattener } from './flatten'
import { IN_FLIGHT, type Batch, type WorkerJob } from './parse'

const port = parentPort as MessagePort
const { files, batchBytes, worker, workers } = workerData as WorkerJob
const flattener = new Flattener()
// Each batch taken by the main thread is answered with a message: a credit for one more batch beyond IN_FLIGHT.
const stop = new AbortController()
const credits = on(port, 'message', { signal: stop.signal })
let posted = 0

type Pending = Omit<Batch, 'tables' | 'nextRid'>
const empty = (): Pending => ({ files: [], lines: 0, bytes: 0, staged: 0, skipped: [] })
let batch = empty()
/** The batch being read (counted over every worker's) and its uncompressed bytes so far. */
let current = 0
let size = 0
const mine = (): boolean => current % workers === worker

async function post (): Promise<void> {
  if (posted++ >= IN_FLIGHT) await credits.next()
  const tables = flattener.take()
  const numbers = Object.values(tables).flatMap(rows => rows.columns).filter(column => column instanceof Float64Array)
  port.postMessage({ ...batch, tables } satisfies Omit<Batch, 'nextRid'>, numbers.map(column => column.buffer as ArrayBuffer))
  batch = empty()
}

function parse (member: Member, file: string, sourceId: string, receivedDay: number): void {
  for (const [at, line] of member.lines.entries()) {
    batch.lines++
    batch.bytes += line.length + 1
    const event = parseObject(line)
    if (event === undefined || typeof event.messageId !== 'string') {
      batch.skipped.push({ file, offset: member.offset, reason: `line ${at + 1} of the member is not an event with a messageId` })
      continue
    }
    flattener.add(event, sourceId, receivedDay)
    batch.staged += line.length
  }
}

async function run (): Promise<void> {
  for (const { index, file, sourceId, receivedDay, from } of files) {
    if (mine()) batch.files.push([index, from])
    for await (const member of readMembers(file, from, torn => { if (mine()) batch.skipped.push(torn) })) {
      if (mine()) {
        parse(member, file, sourceId, receivedDay)
        batch.files.push([index, member.end])
      }
      for (const line of member.lines) size += line.length + 1
      if (size < batchBytes) continue
      if (mine()) await post()
      current++
      size = 0
    }
  }
  if (mine()) await post()
  // With no listener left the port no longer keeps the worker alive: it exits, which ends its batches.
  stop.abort()
}

// A failure (an I/O error: bad data is skipped, never thrown) is thrown again outside the promise: uncaught, it ends
// the worker and reaches the main thread as the worker's error event.
run().catch((error: unknown) => { process.nextTick(() => { throw error }) })
