import { test, type Test } from 'tap'
import Ajv2020 from 'ajv/dist/2020'
import { EVENTS, LATENCY_BOUNDS_MS, METHODS, SCHEMA_VERSION, SIZE_BOUNDS_BYTES } from '../lib/index'
import type { CollectedEvent } from './helpers/collector'
import { Collector } from './helpers/collector'
import { liveApp } from './helpers/live'
import { SCHEMA_NAMES, readSchema, schemaViolations } from './helpers/schema'

// The collector checks every event of every test file against these schemas (see test/helpers/collector.ts);
// this file proves the schemas themselves: well-formed, tied to the code, and closed to anything undocumented.

interface LiveEvents {
  identify: CollectedEvent
  telemetry: CollectedEvent
  keepAlive: CollectedEvent
}

/** One real event of each kind; the report is the final one, sent on close, so it holds all the traffic below. */
async function liveEvents (t: Test): Promise<LiveEvents> {
  const { collector, app } = await liveApp(t)
  await app.inject('/clients/42?token=secret')
  await app.inject('/no/such/route')
  await app.inject({ method: 'POST', url: '/clients/1/secret' })
  await app.inject({ method: 'PROPFIND', url: '/clients' })
  await collector.waitForEvents('keep-alive')
  await app.close()
  return {
    identify: collector.named('identify')[0],
    telemetry: collector.named('telemetry').at(-1) as CollectedEvent,
    keepAlive: collector.named('keep-alive')[0]
  }
}

test('each shipped schema is a valid draft 2020-12 schema', async t => {
  const ajv = new Ajv2020()
  for (const name of SCHEMA_NAMES) {
    const schema = readSchema(name)
    t.equal(schema.$schema, 'https://json-schema.org/draft/2020-12/schema', name)
    t.ok(ajv.validateSchema(schema), `${name}: ${ajv.errorsText(ajv.errors)}`)
  }
})

test('the schemas take the event names, format version, methods and histogram buckets from the plugin\'s constants', async t => {
  const [identify, telemetry, keepAlive] = SCHEMA_NAMES.map(readSchema)
  t.equal(identify.properties.type.const, 'identify')
  t.equal(telemetry.properties.event.const, EVENTS.report)
  t.equal(keepAlive.properties.event.const, EVENTS.keepAlive)
  for (const payload of [identify.properties.traits, telemetry.properties.properties, keepAlive.properties.properties]) {
    t.equal(payload.properties.schemaVersion.const, SCHEMA_VERSION)
  }
  t.strictSame(telemetry.properties.properties.properties.methods.propertyNames.enum, METHODS)
  t.equal(telemetry.$defs.latencyHistogram.properties.buckets.minItems, LATENCY_BOUNDS_MS.length + 1)
  t.equal(telemetry.$defs.latencyHistogram.properties.buckets.maxItems, LATENCY_BOUNDS_MS.length + 1)
  t.equal(telemetry.$defs.sizeHistogram.properties.buckets.minItems, SIZE_BOUNDS_BYTES.length + 1)
  t.equal(telemetry.$defs.sizeHistogram.properties.buckets.maxItems, SIZE_BOUNDS_BYTES.length + 1)
})

test('real identify, telemetry and keep-alive events, with every field the Segment SDK adds, conform', async t => {
  const events = await liveEvents(t)
  for (const [kind, event] of Object.entries(events)) t.strictSame(schemaViolations(event), [], kind)
  // The fields the SDK adds are part of the message, and so of the schema.
  for (const key of ['messageId', 'timestamp', '_metadata', 'integrations', 'context']) t.ok(key in events.identify, key)
  t.hasStrict(events.telemetry.properties, { methods: { OTHER: { requests: 1 } } })
})

test('a part after the first conforms with the report\'s identity, methods and paths, and not with totals or memory', async t => {
  const { telemetry } = await liveEvents(t)
  const { instanceId, schemaVersion, uptime, reportId, methods, paths } = telemetry.properties ?? {}
  const second = { ...telemetry, properties: { instanceId, schemaVersion, uptime, reportId, part: 2, parts: 2, methods, paths } }
  t.strictSame(schemaViolations(second), [])
  const withMemory = { ...second, properties: { ...second.properties, memory: telemetry.properties?.memory } }
  t.not(schemaViolations(withMemory).length, 0)
  const firstWithoutTotals = { ...second, properties: { ...second.properties, part: 1 } }
  t.not(schemaViolations(firstWithoutTotals).length, 0)
})

test('an endpoint entry may hold its methods without its totals, but not part of its totals nor nothing at all', async t => {
  const { telemetry } = await liveEvents(t)
  const { methods, requests, ...rest } = telemetry.properties?.paths['/'] ?? {}
  const withEntry = (entry: unknown): CollectedEvent => ({ ...telemetry, properties: { ...telemetry.properties, paths: { '/': entry } } })
  t.strictSame(schemaViolations(withEntry({ methods })), [], 'methods only')
  t.strictSame(schemaViolations(withEntry({ requests, ...rest, methods: {} })), [], 'totals only')
  t.not(schemaViolations(withEntry({ ...rest, methods })).length, 0, 'totals without requests')
  t.not(schemaViolations(withEntry({ methods: {} })).length, 0, 'an empty entry')
})

/** `[what, change]`: each change adds something no event may carry, or breaks a documented field. */
const FORBIDDEN: Array<[string, (events: LiveEvents) => CollectedEvent]> = [
  ['a user id', ({ identify }) => ({ ...identify, userId: 'alice' })],
  ['a real IP address', ({ identify }) => ({ ...identify, context: { ...identify.context, ip: '203.0.113.7' } })],
  ['more context (user agent)', ({ keepAlive }) => ({ ...keepAlive, context: { ...keepAlive.context, userAgent: 'curl/8' } })],
  ['a host name in the traits', ({ identify }) => ({ ...identify, traits: { ...identify.traits, hostname: 'web-1' } })],
  ['a raw URL in a report', ({ telemetry }) => ({ ...telemetry, properties: { ...telemetry.properties, url: '/clients/42?token=secret' } })],
  ['a path that is not a path', ({ telemetry }) => ({ ...telemetry, properties: { ...telemetry.properties, paths: { clients: telemetry.properties?.paths['/'] } } })],
  ['a method the plugin never names', ({ telemetry }) => ({ ...telemetry, properties: { ...telemetry.properties, methods: { PROPFIND: telemetry.properties?.methods.OTHER } } })],
  ['a status code outside 100..599', ({ telemetry }) => ({ ...telemetry, properties: { ...telemetry.properties, status: { 999: 1 } } })],
  ['a histogram with other buckets', ({ telemetry }) => ({ ...telemetry, properties: { ...telemetry.properties, latency: { ...telemetry.properties?.latency, buckets: [1] } } })],
  ['an anonymousId that is not a SHA-512', ({ keepAlive }) => ({ ...keepAlive, anonymousId: 'auth.example.com' })],
  ['anything in a keep-alive', ({ keepAlive }) => ({ ...keepAlive, properties: { ...keepAlive.properties, uptime: 5 } })],
  ['an unknown event', ({ keepAlive }) => ({ ...keepAlive, event: 'page-view' })]
]

test('the schemas refuse anything beyond the documented fields', async t => {
  const events = await liveEvents(t)
  for (const [what, change] of FORBIDDEN) t.not(schemaViolations(change(events)).length, 0, what)
})

test('the test collector fails close() when an event it received breaks its schema', async t => {
  const collector = await Collector.start()
  const response = await fetch(`${collector.url}/v1/batch`, {
    method: 'POST',
    headers: { authorization: `Basic ${Buffer.from(`${collector.writeKey}:`).toString('base64')}`, 'content-type': 'application/json' },
    body: JSON.stringify({ batch: [{ type: 'track', event: 'keep-alive', anonymousId: 'x', properties: {} }] })
  })
  t.equal(response.status, 200, 'the collector still answers like Segment')
  t.match(collector.schemaErrors, [/keep-alive: /])
  await t.rejects(collector.close(), /schema violation/)
})
