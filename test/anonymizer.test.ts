import Fastify, { type FastifyInstance, type InjectOptions } from 'fastify'
import { test, type Test } from 'tap'
import fastifyTelemetry, { METHODS } from '../lib/index'
import { ROOT, createEndpointMatcher, cutTemplate, methodIndex } from '../lib/anonymizer'
import { Recorder } from '../lib/recorder'
import { ENDPOINTS } from './helpers/app'
import { quietApp, quietOptions, requestsByPath } from './helpers/snapshot'

const ok = async (): Promise<string> => 'ok'

/** What the anonymizer made of `requests`, sent to an app with the routes `configure` declares. */
async function countsAfter (
  t: Test,
  configure: (app: FastifyInstance) => void,
  requests: Array<string | InjectOptions>,
  endpoints = ENDPOINTS
): Promise<Record<string, Record<string, number>>> {
  const app = await quietApp(t, configure, endpoints)
  for (const request of requests) await app.inject(request)
  return requestsByPath(app)
}

test('cutTemplate keeps only the literal segments before the first parameter or wildcard', async t => {
  t.equal(cutTemplate('/oauth2/token'), '/oauth2/token')
  t.equal(cutTemplate('/clients/:id'), '/clients')
  t.equal(cutTemplate('/clients/:id/secret'), '/clients')
  t.equal(cutTemplate('/files/*'), '/files')
  t.equal(cutTemplate('/numbers/:n(^\\d+)'), '/numbers')
  t.equal(cutTemplate('/api/v:version/users'), '/api', 'a parameter inside a segment cuts the whole segment')
  t.equal(cutTemplate('/:tenant/users'), '/', 'a leading parameter collapses everything to /')
})

test('cutTemplate removes trailing slashes and turns an empty result into /', async t => {
  t.equal(cutTemplate('/clients/'), '/clients')
  t.equal(cutTemplate('/'), ROOT)
  t.equal(cutTemplate(''), ROOT)
  t.equal(cutTemplate('*'), ROOT)
})

test('the endpoint matcher answers with the longest allow-listed prefix at a segment boundary', async t => {
  const match = createEndpointMatcher(['/', '/oauth2', '/oauth2/token'])
  t.equal(match('/oauth2/token'), '/oauth2/token')
  t.equal(match('/oauth2/token/revoke'), '/oauth2/token')
  t.equal(match('/oauth2/auth'), '/oauth2')
  t.equal(match('/oauth2'), '/oauth2')
})

test('the endpoint matcher never matches inside a segment and falls back to /', async t => {
  const match = createEndpointMatcher(['/', '/clients'])
  t.equal(match('/clientsX'), ROOT, '/clientsX is not /clients')
  t.equal(match('/clientsX/a'), ROOT)
  t.equal(match('/admin/users'), ROOT)
  t.equal(match(ROOT), ROOT)
})

test('methodIndex names the seven common methods and folds everything else into OTHER', async t => {
  for (const method of ['GET', 'HEAD', 'POST', 'PUT', 'DELETE', 'PATCH', 'OPTIONS']) {
    t.equal(METHODS[methodIndex(method)], method)
  }
  for (const method of ['MKCOL', 'PROPFIND', 'get', '']) {
    t.equal(METHODS[methodIndex(method)], 'OTHER', `${JSON.stringify(method)} counts as OTHER`)
  }
})

test('without an allow-list (dry-run discovery) every cut template becomes an endpoint of its own', async t => {
  const recorder = new Recorder(null)
  t.equal(recorder.cellsFor('/clients/:id'), recorder.cellsFor('/clients'), 'one set of counters per cut template')
  recorder.cellsFor('/files/*')
  recorder.cellsFor(undefined)
  t.same([...recorder.endpoints.keys()].sort(), ['/', '/clients', '/files'])
})

test('a static route counts under its own path', async t => {
  t.same(await countsAfter(t, app => app.post('/oauth2/token', ok), [{ method: 'POST', url: '/oauth2/token?client_id=secret' }]),
    { '/oauth2/token': { POST: 1 } })
})

test('a parametric route counts under the path before its parameter', async t => {
  t.same(await countsAfter(t, app => app.get('/clients/:id', ok), ['/clients/alice', '/clients/bob']), { '/clients': { GET: 2 } })
})

test('a route with several parameters counts under the path before the first one', async t => {
  t.same(await countsAfter(t, app => app.get('/clients/:id/keys/:kid', ok), ['/clients/alice/keys/k1']), { '/clients': { GET: 1 } })
})

test('a wildcard route counts under the path before the wildcard', async t => {
  t.same(await countsAfter(t, app => app.get('/files/*', ok), ['/files/home/alice/secret.txt']), { '/files': { GET: 1 } })
})

test('a route with a regex parameter counts under the path before it', async t => {
  t.same(await countsAfter(t, app => app.get('/numbers/:n(^\\d+)', ok), ['/numbers/12345'], ['/numbers']), { '/numbers': { GET: 1 } })
})

test('a plugin under a parametric prefix collapses to /', async t => {
  const tenantPlugin = (app: FastifyInstance): void => {
    app.register(async child => { child.get('/clients', ok) }, { prefix: '/:tenant' })
  }
  t.same(await countsAfter(t, tenantPlugin, ['/acme/clients']), { '/': { GET: 1 } })
})

test('a plugin under a literal prefix counts under an allow-listed prefixed path', async t => {
  const versionPlugin = (app: FastifyInstance): void => {
    app.register(async child => {
      child.get('/clients/:id', ok)
      child.get('/', ok)
    }, { prefix: '/v1' })
  }
  t.same(await countsAfter(t, versionPlugin, ['/v1/clients/alice', '/v1', '/v1/'], ['/v1/clients']),
    { '/v1/clients': { GET: 1 }, '/': { GET: 2 } }, '/v1 itself is not allow-listed')
})

test('a HEAD request on a GET route counts under the GET route\'s path, as HEAD', async t => {
  t.same(await countsAfter(t, app => app.get('/clients/:id', ok), [{ method: 'HEAD', url: '/clients/alice' }, '/clients/alice']),
    { '/clients': { GET: 1, HEAD: 1 } })
})

test('a route with several methods counts each method separately under one path', async t => {
  const requests: InjectOptions[] = [
    { method: 'POST', url: '/clients/alice/secret' },
    { method: 'PUT', url: '/clients/alice/secret' },
    { method: 'PUT', url: '/clients/bob/secret' }
  ]
  t.same(await countsAfter(t, app => app.route({ method: ['POST', 'PUT'], url: '/clients/:id/secret', handler: ok }), requests),
    { '/clients': { POST: 1, PUT: 2 } })
})

test('a request that matched no route counts under /', async t => {
  t.same(await countsAfter(t, app => app.get('/clients', ok), ['/clients/../../etc/passwd?token=secret']), { '/': { GET: 1 } })
})

test('a request with a method the route does not accept counts under /, with its method', async t => {
  t.same(await countsAfter(t, app => app.get('/clients', ok), [{ method: 'DELETE', url: '/clients' }]), { '/': { DELETE: 1 } })
})

test('a path that only starts with the letters of an endpoint is not that endpoint', async t => {
  t.same(await countsAfter(t, app => app.get('/clientsX', ok), ['/clientsX']), { '/': { GET: 1 } })
})

test('a method outside the reported set counts as OTHER', async t => {
  const webdav = (app: FastifyInstance): void => {
    app.addHttpMethod('MKCOL', { hasBody: true })
    app.route({ method: 'MKCOL', url: '/files/*', handler: ok })
  }
  t.same(await countsAfter(t, webdav, [{ method: 'MKCOL', url: '/files/new-folder' }]), { '/files': { OTHER: 1 } })
})

test('a route with config.telemetry false is counted nowhere, not even under /', async t => {
  t.same(await countsAfter(t, app => app.get('/clients/:id', { config: { telemetry: false } }, ok), ['/clients/alice']), {})
})

test('two routes sharing one config object keep separate counters', async t => {
  const shared = { owner: 'team-a' }
  const app = await quietApp(t, app => {
    app.get('/clients/:id', { config: shared }, ok)
    app.post('/oauth2/token', { config: shared }, ok)
  })
  await app.inject('/clients/alice')
  await app.inject({ method: 'POST', url: '/oauth2/token' })
  t.same(requestsByPath(app), { '/clients': { GET: 1 }, '/oauth2/token': { POST: 1 } })
  t.same(Object.getOwnPropertySymbols(shared), [], 'the application\'s config object is left untouched')
})

/** Requests to `/clients/alice` after `declare` set up routes and the plugin in an order of its own. */
async function countsInOrder (t: Test, declare: (app: FastifyInstance) => Promise<void>): Promise<Record<string, Record<string, number>>> {
  const app = Fastify()
  t.teardown(() => app.close())
  await declare(app)
  await app.inject('/clients/alice')
  return requestsByPath(app)
}

test('a route registered before the plugin is counted', async t => {
  t.same(await countsInOrder(t, async app => {
    app.get('/clients/:id', ok)
    await app.register(fastifyTelemetry, quietOptions(ENDPOINTS))
  }), { '/clients': { GET: 1 } })
})

test('a route registered before the plugin with config.telemetry false is counted nowhere', async t => {
  t.same(await countsInOrder(t, async app => {
    app.get('/clients/:id', { config: { telemetry: false } }, ok)
    await app.register(fastifyTelemetry, quietOptions(ENDPOINTS))
  }), {})
})

test('a route inside an encapsulated plugin registered before the plugin is counted', async t => {
  t.same(await countsInOrder(t, async app => {
    await app.register(async child => { child.get('/clients/:id', ok) })
    await app.register(fastifyTelemetry, quietOptions(ENDPOINTS))
  }), { '/clients': { GET: 1 } })
})

test('a route added right after a register that was not awaited is counted', async t => {
  t.same(await countsInOrder(t, async app => {
    // Not awaited on purpose: the usual Fastify style, where routes are declared before the plugin has loaded.
    app.register(fastifyTelemetry, quietOptions(ENDPOINTS))
    app.get('/clients/:id', ok)
  }), { '/clients': { GET: 1 } })
})

test('a request answered by an earlier hook, before the route\'s own counting hook ran, is still counted', async t => {
  t.same(await countsInOrder(t, async app => {
    await app.register(fastifyTelemetry, quietOptions(ENDPOINTS))
    await app.register(async child => {
      // An encapsulated auth hook runs before route-level hooks and answers 401 itself.
      child.addHook('onRequest', async (request, reply) => reply.code(401).send({ error: 'unauthorized' }))
      child.get('/clients/:id', ok)
    })
  }), { '/clients': { GET: 1 } })
})
