import { fork, type ChildProcess } from 'node:child_process'
import { once } from 'node:events'
import { join } from 'node:path'
import fc from 'fast-check'
import t, { test, type Test } from 'tap'
import { Client } from 'undici'
import type { TelemetrySnapshot } from '../lib/index'
import { telemetryOptions } from './helpers/app'
import { Collector } from './helpers/collector'
import { useEnv } from './helpers/env'
import { encodedSegment, fastCheckSeed, findLeaks, headerName, headerValue, secret } from './helpers/secrets'
import { quietOptions } from './helpers/snapshot'
import type { NestAppOptions } from './fixtures/nest-app'

// A real NestJS 12 app (test/fixtures/nest-app.ts) with the plugin registered as NestJS documents Fastify plugins:
// a global prefix, URI versioning, a route parameter, a guard that answers 403 and an exception filter. It runs as a
// server process of its own (test/fixtures/nest-server.js says why), reached over loopback sockets.

useEnv(t)

const ENDPOINTS = ['/api/v1/clients', '/api/v2/clients', '/api/v1/admin']
/** Rounds of traffic; each sends every kind of request once, with fresh secrets. */
const ROUNDS = 12

interface Sent {
  method: string
  path: string
  headers: Record<string, string>
}

/** One round: every route of the app, secrets in route parameters, 404 paths, query strings and headers. */
function round ([param, queryKey, queryValue, authorization, cookie, name, value, missing]: string[]): Sent[] {
  const headers = {
    authorization: `Bearer ${headerValue(authorization)}`,
    cookie: `session=${headerValue(cookie)}`,
    [`x-${headerName(name)}`]: headerValue(value)
  }
  const id = encodedSegment(param)
  const query = `?${encodedSegment(queryKey)}=${encodedSegment(queryValue)}`
  return [
    { method: 'GET', path: `/api/v1/clients${query}`, headers },
    { method: 'GET', path: `/api/v1/clients/${id}`, headers },
    { method: 'DELETE', path: `/api/v1/clients/${id}`, headers },
    { method: 'GET', path: `/api/v2/clients/${id}${query}`, headers },
    { method: 'GET', path: `/api/v1/admin/settings${query}`, headers },
    { method: 'GET', path: `/api/${encodedSegment(missing)}`, headers }
  ]
}

const SECRETS = fc.sample(fc.array(secret, { minLength: 8, maxLength: 8 }), { seed: fastCheckSeed(), numRuns: ROUNDS })
const TRAFFIC = SECRETS.flatMap(round)

/** What the anonymizer must make of `TRAFFIC`: `{ endpoint: { METHOD: requests } }`. */
const EXPECTED = {
  '/api/v1/clients': { GET: 2 * ROUNDS, DELETE: ROUNDS },
  '/api/v2/clients': { GET: ROUNDS },
  '/api/v1/admin': { GET: ROUNDS },
  '/': { GET: ROUNDS }
}

interface Answer {
  status: number
  headers: Record<string, unknown>
  body: string
}

const SERVER = join(__dirname, 'fixtures', 'nest-server.js')

interface NestServer {
  client: Client
  /** `fastify.telemetry`'s snapshot and allow-list, asked of the server now. */
  telemetry: () => Promise<{ snapshot: TelemetrySnapshot, endpoints: string[] }>
  /** Closes the app (with it the plugin, which sends its final report) and waits for the process to exit. */
  close: () => Promise<void>
}

/** Starts the app in its own process; it is closed when `t` ends, before any collector the caller closes later. */
async function nestServer (t: Test, options: NestAppOptions): Promise<NestServer> {
  const child: ChildProcess = fork(SERVER, [JSON.stringify(options)], { execArgv: [], stdio: ['ignore', 'inherit', 'inherit', 'ipc'] })
  const exited = once(child, 'exit')
  const [{ port }] = await Promise.race([once(child, 'message'), exited.then(([code]) => {
    throw new Error(`nest-server exited with ${String(code)}`)
  })]) as [{ port: number }]
  const client = new Client(`http://127.0.0.1:${port}`)
  let closed: Promise<void> | undefined
  const close = async (): Promise<void> => {
    closed ??= client.close().then(async () => {
      child.disconnect()
      await exited
    })
    await closed
  }
  t.teardown(close)
  return {
    client,
    close,
    telemetry: async () => {
      child.send('snapshot')
      const [answer] = await once(child, 'message')
      return answer
    }
  }
}

/** Sends `requests` one after the other over a real socket; the answers without `date`, which only tells the time. */
async function send (client: Client, requests: Sent[]): Promise<Answer[]> {
  const answers: Answer[] = []
  for (const { method, path, headers } of requests) {
    const response = await client.request({ method: method as 'GET', path, headers })
    const { date, ...rest } = response.headers
    answers.push({ status: response.statusCode, headers: rest, body: await response.body.text() })
  }
  return answers
}

/** `{ endpoint: { METHOD: requests } }` of a snapshot's or a report's `paths`. */
function requestsByPath (paths: Record<string, { methods: Record<string, { requests: number } | undefined> }>): Record<string, Record<string, number | undefined>> {
  return Object.fromEntries(Object.entries(paths).map(([endpoint, path]) =>
    [endpoint, Object.fromEntries(Object.entries(path.methods).map(([method, record]) => [method, record?.requests]))]))
}

test('the app answers every request exactly as it does without the plugin', async t => {
  const bare = await nestServer(t, {})
  const withTelemetry = await nestServer(t, { telemetry: quietOptions(ENDPOINTS) })
  const expected = await send(bare.client, TRAFFIC)
  t.strictSame(await send(withTelemetry.client, TRAFFIC), expected, 'status, headers and body of every answer')
  t.strictSame([...new Set(expected.map(answer => answer.status))], [200, 409, 403, 404],
    'the traffic reaches the handlers, the exception filter (409), the guard (403) and Nest\'s 404')
})

test('each endpoint counts exactly the requests it got: prefix and version kept, parameters cut', async t => {
  const server = await nestServer(t, { telemetry: quietOptions(ENDPOINTS) })
  await send(server.client, TRAFFIC)
  const { snapshot, endpoints } = await server.telemetry()
  t.strictSame(endpoints.slice().sort(), ['/', ...ENDPOINTS].sort(), 'the allow-list, as registered')
  t.strictSame(requestsByPath(snapshot.paths), EXPECTED, 'the 404s of unknown paths count under /')
  t.strictSame(snapshot.paths['/api/v1/clients'].status, { 200: 2 * ROUNDS, 409: ROUNDS }, 'the exception filter\'s 409 under its route')
  t.strictSame(snapshot.paths['/api/v1/admin'].status, { 403: ROUNDS }, 'the guard\'s 403 under its route')
})

test('the collector gets those counts, and nothing of any parameter, query or header', async t => {
  const collector = await Collector.start()
  t.teardown(() => collector.close())
  const server = await nestServer(t, { telemetry: telemetryOptions(collector, { endpoints: ENDPOINTS }) })
  await send(server.client, TRAFFIC)
  await collector.waitForEvents('identify')
  await server.close()

  const reports = collector.named('telemetry')
  const final = reports.reduce((last, report) => (report.properties?.requests as number) > (last.properties?.requests as number) ? report : last)
  t.equal(final.properties?.requests, TRAFFIC.length, 'the final report counts every request sent')
  t.strictSame(requestsByPath(final.properties?.paths), EXPECTED, 'per endpoint and method, as sent')
  t.same(findLeaks(SECRETS.flat(), collector.wireBytes), [], `no secret in any byte the collector received (${collector.events.length} events)`)
})

test('header versioning: every version of a route counts under its one path; a version no route serves, under /', async t => {
  const server = await nestServer(t, { telemetry: quietOptions(['/api/clients']), versioning: 'header' })
  const answers = await send(server.client, [
    { method: 'GET', path: '/api/clients/a', headers: { 'x-api-version': '1' } },
    { method: 'GET', path: '/api/clients/a', headers: { 'x-api-version': '2' } },
    { method: 'GET', path: '/api/clients/a', headers: { 'x-api-version': '3' } },
    { method: 'GET', path: '/api/clients/a', headers: {} }
  ])
  t.strictSame(answers.map(answer => answer.status), [200, 200, 404, 404], 'versions 1 and 2 answered, 3 and none are Nest\'s 404')
  t.strictSame(requestsByPath((await server.telemetry()).snapshot.paths), { '/api/clients': { GET: 2 }, '/': { GET: 2 } },
    'the route\'s path is the same for every version (the version is a Fastify constraint); a 404 has no route')
})

test('CORS: a preflight counts as OPTIONS under /, the path of the catch-all route that answers it', async t => {
  const server = await nestServer(t, { telemetry: quietOptions(ENDPOINTS), cors: true })
  const preflight = { origin: 'https://app.example.com', 'access-control-request-method': 'DELETE' }
  const answers = await send(server.client, [
    { method: 'OPTIONS', path: '/api/v1/clients/a', headers: preflight },
    { method: 'DELETE', path: '/api/v1/clients/a', headers: { origin: 'https://app.example.com' } }
  ])
  t.strictSame(answers.map(answer => [answer.status, answer.headers['access-control-allow-origin']]),
    [[204, 'https://app.example.com'], [409, 'https://app.example.com']], 'both answered with CORS headers')
  t.strictSame(requestsByPath((await server.telemetry()).snapshot.paths), { '/': { OPTIONS: 1 }, '/api/v1/clients': { DELETE: 1 } },
    '@fastify/cors answers preflights on its own OPTIONS * route')
})
