import { execFileSync } from 'node:child_process'
import { existsSync } from 'node:fs'
import { join } from 'node:path'
import { pathToFileURL } from 'node:url'
import Fastify from 'fastify'
import t, { test } from 'tap'
import { useEnv } from './helpers/env'

useEnv(t)

// A path held in a variable: the type check runs before the build, so it must not resolve `dist/` itself.
const root = join(__dirname, '..')
const entry = join(root, 'dist', 'index.js')
const esmEntry = join(root, 'dist', 'index.mjs')
// `npm test` builds first; a lone `tap` run of this file builds what it needs.
if (!existsSync(entry)) execFileSync('npm', ['run', 'build'], { cwd: root, stdio: 'ignore' })

/** Registers a plugin function the way a user would and reports what it decorated. */
async function registerIn (plugin: any): Promise<{ enabled: boolean, clusterId: string | null }> {
  const app = Fastify()
  await app.register(plugin, { dryRun: true, issuerUrl: 'https://auth.example.com/' })
  await app.ready()
  const { enabled, clusterId } = app.telemetry
  await app.close()
  return { enabled, clusterId }
}

test('require() returns the plugin function, also reachable as .default and .fastifyTelemetry', async t => {
  const plugin = require(entry)
  t.type(plugin, 'function')
  t.equal(plugin.default, plugin)
  t.equal(plugin.fastifyTelemetry, plugin)
})

test('the plugin from require() registers in Fastify', async t => {
  t.match(await registerIn(require(entry)), { enabled: true, clusterId: /^[0-9a-f]{128}$/ })
})

test('an ESM import yields the plugin as default export and as named export fastifyTelemetry', async t => {
  const module = await import(pathToFileURL(esmEntry).href)
  t.type(module.default, 'function')
  t.equal(module.fastifyTelemetry, module.default)
  t.match(await registerIn(module.default), { enabled: true })
})

test('the ESM entry is the CommonJS module itself, with every one of its exports by name', async t => {
  const module = await import(pathToFileURL(esmEntry).href)
  const plugin = require(entry)
  t.equal(module.default, plugin)
  t.same(Object.keys(module).filter(name => name !== 'default').sort(), Object.keys(plugin).filter(name => name !== 'default').sort())
  for (const name of Object.keys(plugin)) t.equal(module[name], plugin[name], name)
})

test('the public constants and error classes are exported by name', async t => {
  const plugin = require(entry)
  for (const name of [
    'EVENTS', 'SCHEMA_VERSION', 'MAX_EVENT_BYTES', 'MAX_PENDING_REPORTS', 'METHODS', 'LATENCY_BOUNDS_MS', 'SIZE_BOUNDS_BYTES',
    'FST_TELEMETRY_INVALID_OPTION', 'FST_TELEMETRY_MISSING_OPTION', 'FST_TELEMETRY_UNKNOWN_OPTION', 'FST_TELEMETRY_ALREADY_REGISTERED',
    'FST_TELEMETRY_INVALID_REPORT', 'FST_TELEMETRY_UNKNOWN_FEATURE', 'FEATURE_LIMITS', 'splitReport', 'mergeReport'
  ]) {
    t.not(plugin[name], undefined, name)
  }
})

test('fastify-plugin metadata names the plugin and the Fastify major it supports', async t => {
  const plugin = require(entry)
  t.match(plugin[Symbol.for('plugin-meta')], { name: 'fastify-anonymous-telemetry', fastify: '5.x' })
  // Not encapsulated, so `fastify.telemetry` and the hooks reach the whole app.
  t.equal(plugin[Symbol.for('skip-override')], true)
})
