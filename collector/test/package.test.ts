import { readFileSync } from 'node:fs'
import { join } from 'node:path'
import { test } from 'tap'
import * as collector from '../lib/index'

test('the package exports the plugin, the reader, the limits and the error codes', async t => {
  t.equal(collector.default, collector.telemetryCollector)
  t.equal(typeof collector.default, 'function')
  t.same(Object.keys(collector).sort(), [
    'FST_TELEMETRY_COLLECTOR_BAD_BODY', 'FST_TELEMETRY_COLLECTOR_INVALID_EVENT', 'FST_TELEMETRY_COLLECTOR_INVALID_OPTION',
    'FST_TELEMETRY_COLLECTOR_NOT_STORED', 'FST_TELEMETRY_COLLECTOR_OVER_LIMIT', 'FST_TELEMETRY_COLLECTOR_UNAUTHORIZED',
    'MAX_BATCH_BYTES', 'MAX_BATCH_EVENTS', 'MAX_EVENT_BYTES', 'default', 'defaultSourceId', 'listFiles', 'readEvents',
    'readMembers', 'requestWithoutAddress', 'telemetryCollector'
  ])
  t.same([collector.MAX_EVENT_BYTES, collector.MAX_BATCH_BYTES, collector.MAX_BATCH_EVENTS], [32 * 1024, 500 * 1024, 2500])
  for (const [name, value] of Object.entries(collector)) if (name.startsWith('FST_')) t.equal(new (value as new (m: string) => Error & { code: string })('x').code, name)
  t.same([typeof collector.listFiles, typeof collector.readEvents, typeof collector.readMembers, typeof collector.requestWithoutAddress, typeof collector.defaultSourceId], Array(5).fill('function'))
})

test('the fastify-plugin metadata names the package and Fastify 5', async t => {
  const meta = (collector.default as unknown as Record<symbol, { name: string, fastify: string }>)[Symbol.for('plugin-meta')]
  t.match(meta, { name: 'fastify-anonymous-telemetry-collector', fastify: '5.x' })
})

test('the bin is dist/cli.js and the tarball ships the schemas', async t => {
  const pkg = JSON.parse(readFileSync(join(__dirname, '..', 'package.json'), 'utf8'))
  t.same(pkg.bin, { 'fastify-anonymous-telemetry-collector': 'dist/cli.js' })
  t.ok(pkg.files.includes('schema/plugin/*.json') && pkg.files.includes('schema/v1/*.json'))
  t.match(readFileSync(join(__dirname, '..', 'lib', 'cli.ts'), 'utf8'), /^#!\/usr\/bin\/env node\n/)
})
