// One fresh process of the import-cost benchmark, started by import-cost.mjs with --expose-gc:
//   node --expose-gc benchmarks/import-worker.mjs <variant> [import|require]
// Loads Fastify, then what the variant uses (with `import()`, or with `require()` in `require` mode), then builds the
// benchmark app with the variant registered and waits for `ready`. Reports over IPC the time each load took, the heap
// after gc() at each stage, and which packages each stage loaded; it exits when its parent hangs up.
import { createRequire } from 'node:module'
import { heapUsed } from './heap.mjs'
import { VARIANTS, buildApp } from './variants.mjs'

const require = createRequire(import.meta.url)
// Registering with telemetry on needs a collector address; with identifyAfter at its default (15 min) nothing is sent
// (nor, in a plugin that loads its sending side at the first send, loaded) before this process is gone.
const NEVER_CONTACTED = 'http://127.0.0.1:9'
const NO_SEND = { identifyAfter: 15 * 60 * 1000 }

/** Times `load()`: wall and CPU milliseconds, and the CommonJS files it added to require.cache. */
async function timed (load) {
  const before = new Set(Object.keys(require.cache))
  const cpu = process.cpuUsage()
  const start = performance.now()
  const value = await load()
  const ms = performance.now() - start
  const { user, system } = process.cpuUsage(cpu)
  return { value, ms, cpuMs: (user + system) / 1000, files: Object.keys(require.cache).filter(file => !before.has(file)) }
}

/** The packages `files` belong to (the innermost node_modules entry of each path), `(self)` for this package's own. */
function packages (files) {
  const names = new Set()
  for (const file of files) {
    const match = /.*node_modules[/\\]((?:@[^/\\]+[/\\])?[^/\\]+)/.exec(file)
    names.add(match === null ? '(self)' : match[1].replace('\\', '/'))
  }
  return [...names].sort()
}

const [variant, mode = 'import'] = process.argv.slice(2)
if (!(variant in VARIANTS)) throw new Error(`unknown variant ${variant}`)
const fastify = await timed(async () => (await import('fastify')).default)
const heapFastify = await heapUsed()
const plugin = await timed(mode === 'require' ? () => require('fastify-anonymous-telemetry') : VARIANTS[variant].load)
const heapImported = await heapUsed()
const before = new Set(Object.keys(require.cache))
const app = await buildApp(fastify.value, variant, plugin.value, NEVER_CONTACTED, NO_SEND)
await app.ready()
const heapReady = await heapUsed()
process.on('disconnect', () => process.exit(0))
process.send({
  variant,
  mode,
  fastifyMs: fastify.ms,
  importMs: plugin.ms,
  importCpuMs: plugin.cpuMs,
  heapFastify,
  heapImport: heapImported - heapFastify,
  heapRegister: heapReady - heapImported,
  importedFiles: plugin.files.length,
  importedPackages: packages(plugin.files),
  readyPackages: packages(Object.keys(require.cache).filter(file => !before.has(file)))
})
