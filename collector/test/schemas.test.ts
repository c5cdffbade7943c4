import { readdirSync, readFileSync } from 'node:fs'
import { join } from 'node:path'
import { test } from 'tap'
import { kindOf, SCHEMA_DIRS, Schemas, versionOf } from '../lib/schemas'
import { keepAlive } from './helpers/events'

const PLUGIN_SCHEMAS = join(__dirname, '..', '..', 'schema')
const [V1, V2, COPIED] = SCHEMA_DIRS

test('the build copied the plugin\'s schema/*.json byte for byte', async t => {
  const names = readdirSync(PLUGIN_SCHEMAS).filter(name => name.endsWith('.json')).sort()
  t.ok(names.length >= 3)
  t.same(readdirSync(COPIED).sort(), names, 'the same files')
  for (const name of names) t.equal(readFileSync(join(COPIED, name), 'utf8'), readFileSync(join(PLUGIN_SCHEMAS, name), 'utf8'), name)
})

test('schema/v1 and schema/v2 keep schemaVersion 1 and 2 of identify, telemetry and keep-alive', async t => {
  for (const [dir, version] of [[V1, 1], [V2, 2]] as const) {
    const schemas = readdirSync(dir).map(name => JSON.parse(readFileSync(join(dir, name), 'utf8')))
    t.same(schemas.map(kindOf).sort(), ['identify', 'keep-alive', 'telemetry'])
    t.same(schemas.map(versionOf), [version, version, version])
  }
})

test('both directories are known, by the versions their schemas declare', async t => {
  const schemas = new Schemas()
  const copiedVersions = readdirSync(COPIED).map(name => versionOf(JSON.parse(readFileSync(join(COPIED, name), 'utf8'))))
  t.same(schemas.versions, [...new Set([1, 2, ...copiedVersions])].sort((a, b) => a - b))
  t.equal(schemas.violation(1, 'keep-alive', keepAlive()), undefined)
  t.match(schemas.violation(1, 'keep-alive', keepAlive({ messageId: 'x' })), /^\/messageId must match pattern/)
  t.equal(schemas.knows(99), false)
})

test('a missing directory is skipped (only v1 before the first build)', async t => {
  t.same(new Schemas([V1, join(t.testdir(), 'none')]).versions, [1])
})
