// The benchmark variants, shared by the server (server.mjs) and the import-cost worker (import-worker.mjs). This file
// imports nothing at its top level: each variant loads its own modules when asked, so a process that runs `bare`
// loads Fastify and nothing else, and `telemetry-imported` loads the plugin without registering it.

// Both routes are reported under an endpoint of their own in the telemetry-on variant.
const ENDPOINTS = ['/hello', '/users']
export const BENCH_WRITE_KEY = 'bench-write-key'

// By name, as a user imports it: Node resolves the package's own `exports` (its ESM entry, dist/index.mjs).
const importTelemetry = async () => (await import('fastify-anonymous-telemetry')).default

/**
 * `load()` imports what the variant needs and resolves with it; `register(app, loaded, collectorUrl, telemetry)` adds
 * it to an app before the routes are declared (`telemetry`: options that override telemetryOptions()).
 */
export const VARIANTS = {
  bare: {
    description: 'Fastify 5, no plugin, no hook: the process loads nothing but Fastify',
    load: async () => null,
    register: async () => {}
  },
  'empty-hooks': {
    description: 'bare + an empty sync onRequest and onResponse hook: the floor of any hook-based design',
    load: async () => null,
    register: async app => {
      app.addHook('onRequest', (request, reply, done) => done())
      app.addHook('onResponse', (request, reply, done) => done())
    }
  },
  'empty-hooks-abort': {
    description: 'empty-hooks + an empty onRequestAbort hook, for which Fastify adds a \'close\' listener to every ' +
      'request: the floor of a hook design that also counts aborted requests, as this plugin does',
    load: async () => null,
    register: async app => {
      app.addHook('onRequest', (request, reply, done) => done())
      app.addHook('onResponse', (request, reply, done) => done())
      app.addHook('onRequestAbort', (request, done) => done())
    }
  },
  'telemetry-imported': {
    description: 'fastify-anonymous-telemetry imported, never registered',
    load: importTelemetry,
    register: async () => {}
  },
  'telemetry-off': {
    description: 'fastify-anonymous-telemetry registered with enabled: false',
    load: importTelemetry,
    register: async (app, telemetry) => app.register(telemetry, { enabled: false })
  },
  'telemetry-on': {
    description: 'fastify-anonymous-telemetry on, reporting every second to a collector in another process',
    load: importTelemetry,
    register: async (app, telemetry, collectorUrl, overrides) =>
      app.register(telemetry, { ...telemetryOptions(collectorUrl, ENDPOINTS), ...overrides })
  },
  'fastify-metrics': {
    description: 'fastify-metrics@12 with its defaults (Prometheus histogram + summary per route)',
    load: async () => (await import('fastify-metrics')).default,
    register: async (app, metrics) => app.register(metrics)
  }
}

/** The app every variant serves: a static and a parametric route, no logger. */
export async function buildApp (Fastify, variant, loaded, collectorUrl, telemetryOverrides = {}) {
  const app = Fastify()
  await VARIANTS[variant].register(app, loaded, collectorUrl, telemetryOverrides)
  app.get('/hello', async () => ({ hello: 'world' }))
  app.get('/users/:id', async request => ({ id: request.params.id }))
  return app
}

/** Telemetry as every benchmark runs it: reporting `endpoints` to the collector child at `host` every second. */
export function telemetryOptions (host, endpoints) {
  return {
    writeKey: BENCH_WRITE_KEY,
    issuerUrl: 'https://bench.example.com/',
    host,
    endpoints,
    identifyAfter: 1,
    reportInterval: 1000
  }
}
