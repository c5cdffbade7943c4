import { appendFileSync } from 'node:fs'
import { join } from 'node:path'
import { gzipSync } from 'node:zlib'
import { test } from 'tap'
import { Flattener } from '../../lib/analysis/ingest/flatten'
import { IN_FLIGHT, parseFiles, type Batch, type ParseFile, type ParseJob } from '../../lib/analysis/ingest/parse'
import { App, anonymousId, append, stored } from './helpers/events'

const DAY = '2026-03-01'
const RECEIVED = `${DAY}T10:00:00.000Z`

/** A stored file of `members` gzip members, each one report of an app serving `endpoints` endpoints. */
function storedFile (dir: string, members: number, endpoints = 1): ParseFile {
  const app = new App(anonymousId('parse'), '1.0.0')
  let file = ''
  for (let m = 0; m < members; m++) {
    for (let e = 0; e < endpoints; e++) app.serve(`/e${e}`, 'GET', 1)
    file = append(dir, DAY, app.report().map(event => stored(event, RECEIVED)))
  }
  return { index: 0, file, sourceId: 'src', receivedDay: Date.parse(`${DAY}T00:00:00Z`), from: 0 }
}

async function all (batches: AsyncGenerator<Batch>): Promise<Batch[]> {
  const taken: Batch[] = []
  for await (const batch of batches) taken.push(batch)
  return taken
}

test('the workers post whole members in reading order, each at most IN_FLIGHT batches ahead of the caller', async t => {
  const dir = t.testdir()
  const file = storedFile(dir, 2 * IN_FLIGHT + 3)
  const batches = await all(parseFiles({ files: [file], firstRid: 10, batchBytes: 1, workers: 2 }))
  t.equal(batches.length, 2 * IN_FLIGHT + 4, 'one batch per member, then the last (empty) one')
  const offsets = batches.flatMap(batch => batch.files.map(([, offset]) => offset))
  t.equal(offsets[0], 0, 'the file is started at its offset')
  t.same(offsets, [...offsets].sort((a, b) => a - b), 'offsets only move forward')
  t.same(batches.map(batch => batch.tables.records.count), [...Array(2 * IN_FLIGHT + 3).fill(1), 0])
  t.same(batches.flatMap(batch => [...batch.tables.records.columns[0] as Float64Array]), Array.from({ length: 2 * IN_FLIGHT + 3 }, (_, i) => 10 + i), 'record ids follow the reading order')
  t.same(batches.flatMap(batch => [...batch.tables.events.columns[0] as Float64Array]), Array.from({ length: 2 * IN_FLIGHT + 3 }, (_, i) => i), 'and so do event sequence numbers')
  t.equal(batches.at(-1)?.nextRid, 10 + 2 * IN_FLIGHT + 3)
})

test('one worker or two: the same batches, torn members and lines that are no events included', async t => {
  const dir = t.testdir()
  const app = new App(anonymousId('torn'), '1.0.0')
  const lines = (n: number): string[] => Array.from({ length: n }, () => stored(app.serve('/x', 'GET', 1).report()[0], RECEIVED))
  append(dir, DAY, lines(3))
  append(dir, DAY, [...lines(2), 'not json'])
  const file = append(dir, DAY, lines(1))
  const whole = gzipSync(lines(1).join('\n') + '\n')
  appendFileSync(file, whole.subarray(0, whole.length - 5))
  const second = append(dir, DAY, lines(2), { name: 'b.gz' })
  const job = (workers: number): ParseJob => ({
    files: [{ index: 0, file, sourceId: 'src', receivedDay: 0, from: 0 }, { index: 1, file: second, sourceId: 'src', receivedDay: 0, from: 0 }],
    firstRid: 1,
    batchBytes: 1,
    workers
  })
  const one = await all(parseFiles(job(1)))
  t.same(await all(parseFiles(job(2))), one)
  t.same(one.flatMap(batch => batch.skipped.map(s => s.reason)), ['line 3 of the member is not an event with a messageId', 'truncated'])
  t.same(one.map(batch => batch.tables.events.count), [3, 2, 1, 2, 0])
})

test('a failure of a worker (an I/O error) is thrown to the caller', async t => {
  const missing = { ...storedFile(t.testdir(), 1), file: join(t.testdir(), 'gone.gz') }
  await t.rejects(all(parseFiles({ files: [missing], firstRid: 1, batchBytes: 1, workers: 2 })), { code: 'ENOENT' })
})

test('a caller that stops early stops the workers', async t => {
  const file = storedFile(t.testdir(), IN_FLIGHT * 2)
  const batches = parseFiles({ files: [file], firstRid: 1, batchBytes: 1, workers: 2 })
  const first = await batches.next()
  t.equal((first.value as Batch).tables.records.count, 1)
  t.same(await batches.return(undefined), { done: true, value: undefined }, 'the workers are terminated, and nothing more comes')
})

test('rows grow past their first allocation, every value kept, NULL as NaN', t => {
  const app = new App(anonymousId('grow'), '1.0.0')
  for (let e = 0; e < 3000; e++) app.serve(`/e${e}`, 'GET', e)
  const flattener = new Flattener()
  const [report] = app.report()
  delete (report.properties as { memory?: unknown }).memory
  flattener.add(report, 'src', 0)
  const { records, parts } = flattener.take()
  t.equal(records.count, 3000)
  t.equal((records.columns[0] as Float64Array).length, 3000, 'numbers are cut to the row count')
  t.same([...(records.columns[5] as Float64Array)].slice(2995), [2995, 2996, 2997, 2998, 2999], 'requests')
  t.same((records.columns[3] as string[]).slice(0, 2), ['/e0', '/e1'])
  t.same([...(parts.columns[11] as Float64Array), ...(parts.columns[12] as Float64Array)], [0, 3000], 'the part counts its records, numbered from 0')
  t.ok(Number.isNaN((parts.columns[9] as Float64Array)[0]), 'a report without memory has NULL rss')
  t.equal(flattener.take().records.count, 0, 'what is taken is not taken again')
  t.end()
})

test('part 1\'s facts and feature counts become rows, values of another type left out; other parts carry none', t => {
  const app = new App(anonymousId('features'), '1.0.0', 3)
  app.serve('/a', 'GET', 1).serve('/b', 'GET', 1).fact('storage', 'sqlite').use('exports', 2)
  const [first, second] = app.report(2)
  const properties = first.properties as { facts: Record<string, unknown>, features: Record<string, unknown> }
  properties.facts.mode = 42
  properties.features.webhooks = 1.5
  properties.features.huge = 2 ** 60
  ;(second.properties as Record<string, unknown>).facts = { storage: 'postgres' }
  const flattener = new Flattener()
  flattener.add(first, 'src', 0)
  flattener.add(second, 'src', 0)
  flattener.add({ ...first, properties: { ...first.properties as object, facts: 'x', features: [1] } }, 'src', 0)
  const { facts, features } = flattener.take()
  t.same([...facts.columns[0] as Float64Array], [0])
  t.same(facts.columns.slice(1), [['storage'], ['sqlite']])
  t.same([...features.columns[0] as Float64Array], [0])
  t.same(features.columns[1], ['exports'])
  t.same([...features.columns[2] as Float64Array], [2])
  t.end()
})
