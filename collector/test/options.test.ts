import Fastify from 'fastify'
import { test } from 'tap'
import telemetryCollector, { defaultSourceId } from '../lib/index'
import { basicUser, Keys } from '../lib/keys'
import { settingsFrom } from '../lib/options'

test('defaults', async t => {
  t.same(settingsFrom({ dataDir: 'data', writeKeys: ['k', { writeKey: 'j' }, { writeKey: 'i', sourceId: 'src_1' }] }), {
    dataDir: require('node:path').resolve('data'),
    writeKeys: [{ writeKey: 'k', sourceId: defaultSourceId('k') }, { writeKey: 'j', sourceId: defaultSourceId('j') }, { writeKey: 'i', sourceId: 'src_1' }],
    maxFileBytes: 64 * 2 ** 20,
    dedupEntries: 100_000,
    gzipLevel: 6,
    now: Date.now
  })
})

test('every wrong option is an error naming it', async t => {
  const base = { dataDir: 'data', writeKeys: ['k'] }
  const cases: Array<[unknown, RegExp]> = [
    [null, /option "options" must be an object; received null/],
    ['x', /option "options" must be an object; received "x"/],
    [{ ...base, dataDir: '' }, /option "dataDir" must be a directory path/],
    [{ ...base, dataDir: 3 }, /option "dataDir" must be a directory path; received 3/],
    [{ ...base, writeKeys: [] }, /option "writeKeys" must be a non-empty array/],
    [{ ...base, writeKeys: 'k' }, /option "writeKeys" must be a non-empty array of keys; received "k"/],
    [{ ...base, writeKeys: [{}] }, /option "writeKeys\[0\]" must be a non-empty key without ":"; received undefined/],
    [{ ...base, writeKeys: ['a:b'] }, /option "writeKeys\[0\]"/],
    [{ ...base, writeKeys: [{ writeKey: 'k', sourceId: '../x' }] }, /option "writeKeys\[0\].sourceId" must be letters, digits/],
    [{ ...base, writeKeys: [{ writeKey: 'k', sourceId: 5 }] }, /option "writeKeys\[0\].sourceId"/],
    [{ ...base, writeKeys: ['k', 'k'] }, /option "writeKeys\[1\]" must be a key not listed before/],
    [{ ...base, maxFileBytes: 10 }, /option "maxFileBytes" must be an integer from 1024/],
    [{ ...base, dedupEntries: 1.5 }, /option "dedupEntries" must be an integer/],
    [{ ...base, gzipLevel: '9' }, /option "gzipLevel" must be an integer from 0 to 9; received "9"/],
    [{ ...base, gzipLevel: [] }, /received an array/],
    [{ ...base, gzipLevel: {} }, /received an object/],
    [{ ...base, now: 1_800_000_000_000 }, /option "now" must be a function returning milliseconds since the epoch; received 1800000000000/],
    [{ ...base, writeKeys: ['x'.repeat(100)], dataDr: 1 }, /option "dataDr" must be one of dataDir, writeKeys/],
    [{ ...base, writeKeys: ['x'.repeat(50) + ':'] }, /received "x{40}…"/]
  ]
  for (const [options, message] of cases) t.throws(() => settingsFrom(options), { code: 'FST_TELEMETRY_COLLECTOR_INVALID_OPTION', message }, String(message))
})

test('register fails on a wrong option', async t => {
  await t.rejects(async () => { await Fastify().register(telemetryCollector, { dataDir: t.testdir(), writeKeys: [] }).ready() }, { code: 'FST_TELEMETRY_COLLECTOR_INVALID_OPTION' })
})

test('keys match in constant time to their source id', async t => {
  const keys = new Keys([{ writeKey: 'a', sourceId: 'A' }, { writeKey: 'b', sourceId: 'B' }])
  t.equal(keys.sourceIdOf('a'), 'A')
  t.equal(keys.sourceIdOf('b'), 'B')
  t.equal(keys.sourceIdOf('c'), undefined)
  t.equal(keys.sourceIdOf(''), undefined)
})

test('basicUser reads the user name of a Basic header', async t => {
  const basic = (text: string): string => `Basic ${Buffer.from(text).toString('base64')}`
  t.equal(basicUser(basic('key:')), 'key')
  t.equal(basicUser(basic('key:ignored')), 'key')
  t.equal(basicUser(`basic  ${Buffer.from('key:').toString('base64')}`), 'key')
  t.equal(basicUser(basic('key')), undefined)
  t.equal(basicUser('Bearer x'), undefined)
  t.equal(basicUser('Basic ***'), undefined)
})
