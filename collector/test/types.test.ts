// Type tests: `tsc -p tsconfig.test.json` (part of `npm test`) fails if an `@ts-expect-error` line below compiles,
// or if a correct usage does not. Each registration also runs, so the runtime agrees with the types.
import Fastify from 'fastify'
import { test } from 'tap'
import telemetryCollector, { readEvents, type CollectorCounts, type CollectorOptions, type Member, type TelemetryCollector, type TornMember, type UnknownKeyCounts } from '../lib/index'

type Equal<A, B> = (<T>() => T extends A ? 1 : 2) extends (<T>() => T extends B ? 1 : 2) ? true : false

test('every option, fully typed, registers; the decorator is typed', async t => {
  const options: CollectorOptions = {
    dataDir: t.testdir(),
    writeKeys: ['key', { writeKey: 'other', sourceId: 'src' }],
    maxFileBytes: 2 ** 20,
    dedupEntries: 10,
    gzipLevel: 1,
    now: Date.now
  }
  const app = Fastify()
  await app.register(telemetryCollector, options)
  await app.ready()
  const decorator: TelemetryCollector = app.telemetryCollector
  const counts: CollectorCounts = decorator.counts
  const same: Equal<typeof counts.unknownSchemaVersions, Record<string, number>> = true
  t.ok(same)
  const unknownKeys: Equal<typeof counts.unknownKeys, UnknownKeyCounts> = true
  t.ok(unknownKeys)
  t.equal(counts.accepted, 0)
  await app.close()
})

test('wrong option types do not compile (and are refused at run time)', async t => {
  const dataDir = t.testdir()
  // @ts-expect-error dataDir is required
  await t.rejects(async () => { await Fastify().register(telemetryCollector, { writeKeys: ['k'] }).ready() })
  // @ts-expect-error a write key is a string or { writeKey, sourceId? }
  await t.rejects(async () => { await Fastify().register(telemetryCollector, { dataDir, writeKeys: [42] }).ready() })
  // @ts-expect-error gzipLevel is a number
  await t.rejects(async () => { await Fastify().register(telemetryCollector, { dataDir, writeKeys: ['k'], gzipLevel: 'best' }).ready() })
  // @ts-expect-error now is a clock, not a time
  await t.rejects(async () => { await Fastify().register(telemetryCollector, { dataDir, writeKeys: ['k'], now: 1_800_000_000_000 }).ready() })
})

test('the reader is typed', async t => {
  const torn: TornMember[] = []
  for await (const event of readEvents(t.testdir(), { onTorn: x => torn.push(x) })) {
    const record: Record<string, unknown> = event
    t.ok(record)
  }
  const member: Equal<Member['lines'], string[]> = true
  t.ok(member)
})
