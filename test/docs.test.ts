import { execFile } from 'node:child_process'
import { existsSync, readFileSync } from 'node:fs'
import { join } from 'node:path'
import { promisify } from 'node:util'
import t, { test } from 'tap'
import { type SchemaName, SCHEMA_NAMES, schemaViolations } from './helpers/schema'

// `npm run docs` writes the schemas and the docs from the code and a real run. Run it again, into a temporary
// directory, and compare with what is committed: docs that drifted from the code fail here.

const root = join(__dirname, '..')
const fresh = t.testdir()

/** Fields whose values differ between runs or machines; everything else must match exactly. */
const VARYING = new Set(['messageId', 'timestamp', 'instanceId', 'reportId', 'uptime', 'os', 'arch', 'numCpu', 'runtimeVersion', 'nodeVersion'])

/** Replaces ids, times, timings, memory figures and facts about the machine by placeholders. */
function placeholders (value: unknown, key = ''): unknown {
  if (VARYING.has(key)) return `<${key}>`
  if (key === 'memory') return Object.fromEntries(Object.keys(value as object).map(name => [name, `<${name}>`]))
  if (key === 'latency') return { ...(value as object), sum: '<sum>', buckets: '<buckets>' }
  if (Array.isArray(value)) return value.map(item => placeholders(item))
  if (typeof value === 'object' && value !== null) {
    return Object.fromEntries(Object.entries(value).map(([name, item]) => [name, placeholders(item, name)]))
  }
  return value
}

// Once for the whole file: the generator starts a server and a collector and sends real traffic.
let generated: Promise<unknown> | undefined
async function generate (): Promise<void> {
  // Run from the compiled package, exactly as `npm run docs` does (after `npm run build`, which `npm test` runs first).
  // Tap would also measure the child's coverage: the example app and scripts are not what the coverage gate is
  // about, and lib/ must be covered by its own tests, not by this run.
  const env = { ...process.env, _TAPJS_PROCESSINFO_COVERAGE_: '0' }
  generated ??= promisify(execFile)(process.execPath, [join(root, 'scripts', 'docs.mjs'), '--out', fresh], { cwd: root, env })
  await generated
}

const committed = (...path: string[]): string => readFileSync(join(root, ...path), 'utf8')
const regenerated = (...path: string[]): string => readFileSync(join(fresh, ...path), 'utf8')
const HOW_TO_FIX = 'out of date: run `npm run docs` and commit the result'

test('the package is built, so the generator documents the current code', async t => {
  t.ok(existsSync(join(root, 'dist', 'index.js')), 'dist/index.js exists (npm run build)')
})

test('the committed JSON Schemas are the ones the generator builds from the code', async t => {
  await generate()
  for (const name of SCHEMA_NAMES) t.equal(committed('schema', `${name}.json`), regenerated('schema', `${name}.json`), `schema/${name}.json ${HOW_TO_FIX}`)
})

test('docs/telemetry.md is the page the generator writes', async t => {
  await generate()
  t.equal(committed('docs', 'telemetry.md'), regenerated('docs', 'telemetry.md'), `docs/telemetry.md ${HOW_TO_FIX}`)
})

test('docs/telemetry-example.json holds what a run sends today, ids, times, timings, memory and machine aside', async t => {
  await generate()
  t.strictSame(placeholders(JSON.parse(committed('docs', 'telemetry-example.json'))),
    placeholders(JSON.parse(regenerated('docs', 'telemetry-example.json'))), `docs/telemetry-example.json ${HOW_TO_FIX}`)
})

test('the example holds one real event of each kind, each valid against its schema', async t => {
  const events = JSON.parse(committed('docs', 'telemetry-example.json')) as Array<{ type: string, event?: string }>
  t.strictSame(events.map(event => event.event ?? event.type), ['identify', 'telemetry', 'keep-alive'] satisfies SchemaName[])
  for (const event of events) t.strictSame(schemaViolations(event), [], event.event ?? event.type)
})

test('every field of the example events has a row in docs/telemetry.md', async t => {
  const page = committed('docs', 'telemetry.md')
  // Keys of these maps are data (status codes, methods, endpoints, feature names), not fields.
  const maps = new Set(['status', 'methods', 'paths', 'facts', 'features'])
  const fields = new Set<string>()
  const collect = (value: unknown, isMap = false): void => {
    if (typeof value !== 'object' || value === null || Array.isArray(value)) return
    for (const [key, item] of Object.entries(value)) {
      if (!isMap) fields.add(key)
      collect(item, !isMap && maps.has(key))
    }
  }
  for (const event of JSON.parse(committed('docs', 'telemetry-example.json'))) collect(event)
  for (const field of fields) t.match(page, new RegExp(`^\\| \`(?:[\\w.]+\\.)?${field}\` \\|`, 'm'), field)
})
