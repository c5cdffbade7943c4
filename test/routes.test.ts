import Fastify, { type FastifyInstance, type onRequestHookHandler, type RouteOptions } from 'fastify'
import t, { test } from 'tap'
import fastifyTelemetry, { type TelemetryOptions } from '../lib/index'
import { useEnv } from './helpers/env'
import { LAYOUTS, type Layout } from './helpers/layouts'
import { quietOptions, requestsByPath, snapshotOf } from './helpers/snapshot'

useEnv(t)

// The plugin is a guest: it counts through global hooks only, and every route stays as the app declared it.

const ENDPOINTS = ['/clients', '/api']
const handler = async (): Promise<string> => 'ok'
const appHook: onRequestHookHandler = async () => {}
/** One config object given to two routes, as apps do with a shared `{ config }` constant. */
const sharedConfig = { telemetry: true }

/** Every kind of route the plugin must leave alone, with the same functions and objects in every app built from it. */
function declareRoutes (app: FastifyInstance): void {
  app.get('/clients', handler)
  app.get('/clients/:id', { config: sharedConfig, onRequest: appHook }, handler)
  app.post('/clients/:id/secret', { config: sharedConfig }, handler)
  app.get('/private', { config: { telemetry: false } }, handler)
  app.register(async api => {
    api.get('/', handler)
    api.get('/things/:id', { onRequest: [appHook] }, handler)
  }, { prefix: '/api' })
}

const URLS = ['/clients', '/clients/1', '/private', '/api', '/api/', '/api/things/1', '/api/nope', '/nope']

/** Telemetry as configured with an allow-list, and in discovery (dry run without one), which adds an `onRoute` hook. */
const MODES: Array<{ mode: string, options: TelemetryOptions, counted: Record<string, Record<string, number>> }> = [
  {
    mode: 'with an allow-list',
    options: quietOptions(ENDPOINTS),
    counted: { '/': { GET: 2 }, '/clients': { GET: 2 }, '/api': { GET: 3 } }
  },
  {
    mode: 'in discovery',
    options: quietOptions(ENDPOINTS, { endpoints: undefined, dryRun: true }),
    counted: { '/': { GET: 2 }, '/clients': { GET: 2 }, '/api': { GET: 2 }, '/api/things': { GET: 1 } }
  }
]

interface Observed {
  app: FastifyInstance
  /** What another plugin's `onRoute` hook, registered after telemetry, saw of each route. */
  routes: Array<{ options: RouteOptions, configKeys: PropertyKey[] }>
  /** `request.routeOptions.config` of each request in `URLS`, read by the app's own hook. */
  configs: object[]
}

async function observe (layout: Layout, options: TelemetryOptions | null): Promise<Observed> {
  const app = Fastify()
  const routes: Observed['routes'] = []
  const configs: Observed['configs'] = []
  await layout.compose(app, options, context => {
    // Added where the routes are declared, after telemetry when telemetry comes first: sees what its onRoute left.
    context.addHook('onRoute', route => { routes.push({ options: { ...route }, configKeys: Reflect.ownKeys(route.config ?? {}) }) })
    context.addHook('onResponse', async request => { configs.push(request.routeOptions.config) })
    declareRoutes(context)
  })
  await app.ready()
  for (const url of URLS) await app.inject(url)
  return { app, routes, configs }
}

for (const { mode, options, counted } of MODES) {
  for (const layout of LAYOUTS) {
    test(`telemetry ${mode}, ${layout.name}: routes stay as declared`, async t => {
      const bare = await observe(layout, null)
      const withTelemetry = await observe(layout, options)
      t.teardown(() => Promise.all([bare.app.close(), withTelemetry.app.close()]))

      t.test('request.routeOptions.config deep-equals what Fastify builds without the plugin, symbols included', async t => {
        t.strictSame(withTelemetry.configs, bare.configs)
        t.strictSame(withTelemetry.configs.map(config => Reflect.ownKeys(config)), bare.configs.map(config => Reflect.ownKeys(config)))
      })

      t.test("another plugin's onRoute hook sees the same route options, the app's own config object included", async t => {
        t.strictSame(withTelemetry.routes, bare.routes)
        const shared = withTelemetry.routes.filter(route => route.options.url.startsWith('/clients/'))
        t.ok(shared.length > 0 && shared.every(route => route.options.config === sharedConfig))
      })

      t.test('printRoutes({ includeHooks: true }) differs only by the three global hooks of telemetry, on every route', async t => {
        const printed = withTelemetry.app.printRoutes({ includeHooks: true })
        t.equal(withoutTelemetryHooks(printed), bare.app.printRoutes({ includeHooks: true }))
        // With hooks, each method of a route is printed on a line of its own, ending in `(METHOD)`.
        const routeCount = printed.match(/ \([A-Z]+\)$/gm)?.length
        for (const hook of ['telemetryOnRequest', 'telemetryOnResponse', 'telemetryOnRequestAbort']) {
          t.equal(printed.split(`"${hook}()"`).length - 1, routeCount, `${hook} once on each of ${routeCount} routes`)
        }
      })

      t.test('every request is counted under its route, whatever the layout', async t => {
        t.same(requestsByPath(withTelemetry.app), counted)
      })
    })
  }
}

/** A `printRoutes({ includeHooks: true })` with the telemetry hooks taken out, and hook lines left empty dropped. */
function withoutTelemetryHooks (printed: string): string {
  return printed.split('\n')
    .map(line => line.replace(/"telemetryOn\w+\(\)",?/g, '').replace(',]', ']'))
    .filter(line => !line.endsWith(' []'))
    .join('\n')
}

test('an invalid onRequest: null is still rejected by Fastify', async t => {
  const app = Fastify()
  t.teardown(() => app.close())
  await app.register(fastifyTelemetry, quietOptions(ENDPOINTS))
  t.throws(() => app.get('/x', { onRequest: null as unknown as onRequestHookHandler }, handler), { code: 'FST_ERR_HOOK_INVALID_HANDLER' })
})

test('a HEAD auto-route counts under its GET route as HEAD; a prefixed "/" route counts the same with or without the slash', async t => {
  const app = Fastify()
  t.teardown(() => app.close())
  await app.register(fastifyTelemetry, quietOptions(ENDPOINTS))
  declareRoutes(app)
  for (const url of ['/clients', '/api', '/api/']) await app.inject({ method: 'HEAD', url })
  t.same(requestsByPath(app), { '/clients': { HEAD: 1 }, '/api': { HEAD: 2 } })
})

test('unmatched requests under a prefix share one not-found context and count under /', async t => {
  const app = Fastify()
  t.teardown(() => app.close())
  await app.register(fastifyTelemetry, quietOptions(ENDPOINTS))
  declareRoutes(app)
  for (const url of ['/api/a', '/api/b/c', '/x', '/clients/1/2']) t.equal((await app.inject(url)).statusCode, 404)
  t.same(requestsByPath(app), { '/': { GET: 4 } })
})

test('config: { telemetry: false } opts a route out: counted nowhere, in any layout', async t => {
  for (const layout of LAYOUTS) {
    const { app } = await observe(layout, quietOptions(ENDPOINTS))
    const before = snapshotOf(app).requests
    await app.inject('/private')
    t.equal(snapshotOf(app).requests, before, layout.name)
    await app.close()
  }
})
