import Fastify, { type FastifyInstance } from 'fastify'
import fp from 'fastify-plugin'
import t, { test, type Test } from 'tap'
import fastifyTelemetry, { FST_TELEMETRY_ALREADY_REGISTERED, type TelemetryOptions } from '../lib/index'
import { useEnv } from './helpers/env'
import { quietOptions } from './helpers/snapshot'

useEnv(t)

const OPTIONS = quietOptions(['/clients'])
const ALREADY = { code: 'FST_TELEMETRY_ALREADY_REGISTERED', message: /already registered on this server; register it once per server, on the root instance/ }

function app (t: Test, logLines?: string[]): FastifyInstance {
  const server = Fastify(logLines === undefined ? {} : { logger: { level: 'info', stream: { write: (line: string) => logLines.push(line) } } })
  t.teardown(() => server.close())
  return server
}

test('registering the plugin twice on one instance fails with FST_TELEMETRY_ALREADY_REGISTERED', async t => {
  const server = app(t)
  server.register(fastifyTelemetry, OPTIONS)
  server.register(fastifyTelemetry, OPTIONS)
  const error = await t.rejects(async () => { await server.ready() }, ALREADY)
  t.type(error, FST_TELEMETRY_ALREADY_REGISTERED)
})

test('registering it once more in a child context fails the same way, not with Fastify\'s decorator error', async t => {
  const server = app(t)
  server.register(fastifyTelemetry, OPTIONS)
  server.register(async child => { await child.register(fastifyTelemetry, OPTIONS) })
  await t.rejects(async () => { await server.ready() }, ALREADY)
})

test('registering it in two sibling contexts of one server fails too: both would report under one cluster id', async t => {
  const server = app(t)
  server.register(async child => { await child.register(fastifyTelemetry, OPTIONS) })
  server.register(async child => { await child.register(fastifyTelemetry, OPTIONS) })
  await t.rejects(async () => { await server.ready() }, ALREADY)
})

test('a second registration fails while telemetry is off as well', async t => {
  const server = app(t)
  server.register(fastifyTelemetry, { enabled: false })
  server.register(fastifyTelemetry, { enabled: false })
  await t.rejects(async () => { await server.ready() }, ALREADY)
})

test('another copy of the plugin (fastify.telemetry already decorated) is refused the same way', async t => {
  const server = app(t)
  server.register(fp(async instance => { instance.decorate('telemetry', null as never) }))
  server.register(fastifyTelemetry, OPTIONS)
  await t.rejects(async () => { await server.ready() }, ALREADY)
})

test('one registration per server is fine, on as many servers as a process runs', async t => {
  for (const server of [app(t), app(t)]) {
    await server.register(fastifyTelemetry, OPTIONS)
    await server.ready()
    t.equal(server.telemetry.enabled, true)
  }
})

test('the register option logLevel sets the level of the plugin\'s own logger: above info, the notice comes at warn', async t => {
  // Each app an installation of its own: the notice is told once per process and cluster id.
  const quiet: string[] = []
  await app(t, quiet).register(fastifyTelemetry, { ...OPTIONS, issuerUrl: 'https://quiet.example.com/', logLevel: 'warn' } as TelemetryOptions).ready()
  t.match(quiet.filter(line => line.includes('fastify-anonymous-telemetry')).map(line => JSON.parse(line)), [{ level: 40, msg: /telemetry is on/ }])
  const loud: string[] = []
  await app(t, loud).register(fastifyTelemetry, { ...OPTIONS, issuerUrl: 'https://loud.example.com/' }).ready()
  t.match(loud.filter(line => line.includes('telemetry is on')).map(line => JSON.parse(line)), [{ level: 30 }])
})

test('the register option logSerializers applies to the plugin\'s own log lines', async t => {
  const lines: string[] = []
  const logSerializers = { clusterId: () => '[cluster]' }
  await app(t, lines).register(fastifyTelemetry, { ...OPTIONS, issuerUrl: 'https://serializers.example.com/', logSerializers } as TelemetryOptions).ready()
  t.match(lines.find(line => line.includes('telemetry is on')), /"clusterId":"\[cluster\]"/)
})
