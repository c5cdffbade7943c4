// `npm run docs`: writes schema/*.json, docs/telemetry.md and docs/telemetry-example.json from the code itself.
// The schemas come from scripts/schema.mjs (built from the plugin's constants); the page renders their
// descriptions; the example holds real events of a real run of the example app against a loopback collector.
// test/docs.test.ts runs this into a temporary directory and fails when the committed files differ.
//
//   node scripts/docs.mjs [--out DIR]    (after `npm run build`; DIR defaults to the repository)
import { mkdir, writeFile } from 'node:fs/promises'
import { join } from 'node:path'
import { fileURLToPath } from 'node:url'
import { parseArgs } from 'node:util'
import { LATENCY_BOUNDS_MS, MAX_EVENT_BYTES, SIZE_BOUNDS_BYTES } from 'fastify-anonymous-telemetry'
import { eventName, startCollector } from '../examples/collector.mjs'
import { buildServer } from '../examples/server.mjs'
import { bookshopTraffic, send } from '../examples/traffic.mjs'
import { MERGE_RULES, buildSchemas } from './schema.mjs'

const HEALTH_TOKEN = 'docs-health-token'

// ---------------------------------------------------------------------------------------------------------------
// A real run: every event as it arrives at the collector.

/**
 * Runs the example app against a loopback collector: identify (and its first, empty report) and a keep-alive
 * right away, then one pass of the example traffic, then close, which sends the final report. Only the final
 * report follows the traffic, so its counters are the same on every run.
 */
async function captureEvents () {
  // This run must show what the plugin sends, whatever the shell says; it only ever talks to 127.0.0.1.
  for (const name of ['DISABLE_TELEMETRY', 'DO_NOT_TRACK', 'TELEMETRY_DRY_RUN']) delete process.env[name]
  const writeKey = 'docs-write-key'
  const collector = await startCollector({ writeKey })
  const events = []
  let arrived = () => {}
  collector.on('event', event => {
    events.push(event)
    arrived()
  })
  const first = name => events.find(event => eventName(event) === name)
  const app = await buildServer({
    healthToken: HEALTH_TOKEN,
    telemetry: { writeKey, host: collector.url, identifyAfter: 1, keepAliveInterval: 500, reportInterval: 3_600_000, flushTimeout: 5000 }
  })
  try {
    const base = await app.listen({ host: '127.0.0.1', port: 0 })
    while (first('identify') === undefined || first('keep-alive') === undefined) await new Promise(resolve => { arrived = resolve })
    for (const request of bookshopTraffic(HEALTH_TOKEN)) await send(base, request)
  } finally {
    await app.close()
    await collector.close()
  }
  const reports = events.filter(event => eventName(event) === 'telemetry')
  if (reports.length < 2) throw new Error(`docs: the final report did not arrive (${events.length} events)`)
  return [first('identify'), reports.at(-1), first('keep-alive')]
}

/** Where each example request is counted, asked of the plugin itself through `fastify.telemetry.snapshot()`. */
async function countedAs () {
  const app = await buildServer({ healthToken: HEALTH_TOKEN, telemetry: { dryRun: true } })
  const requests = (snapshot) => Object.entries(snapshot.paths)
    .flatMap(([endpoint, record]) => Object.entries(record.methods).map(([method, m]) => [`${method} ${endpoint}`, m.requests]))
  const rows = []
  for (const [method, url, body, headers] of bookshopTraffic(HEALTH_TOKEN)) {
    const before = new Map(requests(app.telemetry.snapshot()))
    const response = await app.inject({ method, url, payload: body, headers })
    const counted = requests(app.telemetry.snapshot()).filter(([key, n]) => n > (before.get(key) ?? 0)).map(([key]) => key)
    rows.push([`${method} ${url}`, response.statusCode, counted.join(', ') || 'not counted'])
  }
  const endpoints = app.telemetry.endpoints
  await app.close()
  return { endpoints, rows }
}

// ---------------------------------------------------------------------------------------------------------------
// The page.

const DEF_TITLES = {
  metrics: 'Metrics record',
  pathPart: 'Endpoint record',
  latencyHistogram: 'Latency histogram',
  sizeHistogram: 'Size histogram',
  memory: 'Memory'
}
const anchor = title => title.toLowerCase().replace(/[^a-z0-9 -]/g, '').replace(/ /g, '-')
const code = text => `\`${text}\``
const cell = text => String(text).replace(/\|/g, '\\|')

/** A short, readable type for a table cell. */
function typeOf (schema) {
  if (schema.$ref !== undefined) {
    const title = DEF_TITLES[schema.$ref.split('/').pop()]
    return `[${title.toLowerCase()}](#${anchor(title)})`
  }
  if (schema.const !== undefined) return code(JSON.stringify(schema.const))
  if (schema.type === 'array') return `array of ${schema.items.type} (${schema.minItems} entries)`
  if (schema.type === 'object' && schema.additionalProperties !== undefined && schema.properties === undefined) {
    const key = schema.propertyNames.title ??
      (schema.propertyNames.enum !== undefined ? 'method' : schema.propertyNames.pattern === '^/' ? 'endpoint' : 'status code')
    return `map: ${key} → ${typeOf(schema.additionalProperties)}`
  }
  return schema.format === undefined ? schema.type : `${schema.type} (${schema.format})`
}

/** One table row per field, nested objects flattened to dotted names. */
function fieldRows (schema, prefix = '', notes = () => '') {
  return Object.entries(schema.properties).flatMap(([key, field]) => {
    const name = prefix + key
    const note = notes(key) || (schema.required.includes(key) ? '' : ' Optional.')
    const row = `| ${code(name)} | ${typeOf(field)} | ${cell(field.description)}${note} |`
    const nested = field.type === 'object' && field.properties !== undefined ? fieldRows(field, `${name}.`) : []
    return [row, ...nested]
  })
}

const table = rows => ['| Field | Type | Meaning |', '| --- | --- | --- |', ...rows].join('\n')

function boundsTable (bounds, unit) {
  const rows = [...bounds, Infinity].map((bound, i) => {
    const lower = i === 0 ? '' : `> ${bounds[i - 1]} ${unit}`
    const upper = bound === Infinity ? '' : `≤ ${bound} ${unit}`
    return `| ${i} | ${[lower, upper].filter(Boolean).join(' and ')} |`
  })
  return ['| Bucket | Counts values |', '| --- | --- |', ...rows].join('\n')
}

function renderPage (schemas, { endpoints, rows: mapping }) {
  const { identify, telemetry, 'keep-alive': keepAlive } = schemas
  // The envelope as the three events share it; each schema has constants for `type` and `event`, and its own payload.
  const { properties: payload, ...shared } = telemetry.properties
  const envelope = {
    required: [...telemetry.required, 'traits'],
    properties: {
      ...shared,
      type: { type: 'string', description: 'Segment call: `identify` for the identify event, `track` for the others.' },
      event: { type: 'string', description: 'Event name of a `track` call: `telemetry` or `keep-alive`. Absent from identify.' },
      traits: { type: 'object', description: 'The payload of [identify](#identify). Absent from `track` calls.' },
      properties: { type: 'object', description: 'The payload of [telemetry](#telemetry) and [keep-alive](#keep-alive). Absent from identify.' }
    }
  }
  const partOneOnly = payload.then.required
  const defs = Object.entries(DEF_TITLES).map(([name, title]) => {
    const schema = telemetry.$defs[name]
    return `### ${title}\n\n${schema.description}\n\n${table(fieldRows(schema))}`
  })
  const eventRow = (name, schema) => `| [${code(name)}](#${anchor(name)}) | ${schema.description} | [${code(`schema/${name}.json`)}](../schema/${name}.json) |`

  return `# What fastify-anonymous-telemetry sends

<!-- Generated by \`npm run docs\` (scripts/docs.mjs) from the JSON Schemas and a real run of examples/server.mjs.
     Do not edit: change the plugin or scripts/schema.mjs, then run \`npm run docs\`. test/docs.test.ts checks it. -->

The plugin sends three kinds of events to a Segment-compatible HTTP API (the \`host\` and \`path\` options;
\`https://api.segment.io/v1/batch\` by default). This page lists every field of every event, including the ones the
Segment SDK adds by itself. The same definitions, for machines, are JSON Schemas (draft 2020-12) shipped in the
package as \`fastify-anonymous-telemetry/schema/<event>.json\`; [telemetry-example.json](telemetry-example.json) holds real
events captured from the example app.

| Event | When | Schema |
| --- | --- | --- |
${eventRow('identify', identify)}
${eventRow('telemetry', telemetry)}
${eventRow('keep-alive', keepAlive)}

An instance that stops before \`identifyAfter\` sends nothing at all. Nothing else is ever sent: no URL, query string,
header, cookie, body or route parameter, no IP address (\`context.ip\` is \`0.0.0.0\`), no host name, environment
variable or file path.

## How events travel

Each event is posted as soon as it is made: \`POST <host><path>\` with HTTP Basic authentication (the write key as
user name, empty password) and the JSON body \`{ "batch": [<event>], "writeKey": "<write key>", "sentAt": "<ISO time>" }\`
(\`writeKey\` and \`sentAt\` are added by the Segment SDK). Every event stays under ${MAX_EVENT_BYTES / 1024} KB, Segment's
limit per event, whatever the traffic: a larger report is split into several \`telemetry\` events
([Reports in several parts](#reports-in-several-parts)). One event per request body, so no batch comes near
Segment's 500 KB limit per batch. Delivery is
bounded: no retries inside the SDK (the next report is the retry), and at most a few reports waiting; counters are
cumulative, so a lost report loses nothing.

## Fields of every event

${table(fieldRows(envelope))}

## identify

${identify.description}

${table(fieldRows(identify.properties.traits, 'traits.'))}

## telemetry

${telemetry.description}

${table(fieldRows(payload, 'properties.', key => (partOneOnly.includes(key) ? ' Part 1 only.' : '')))}

### Reports in several parts

A report is cut between metrics records, never inside one: the report's totals, each top-level method, each
endpoint's totals and each (endpoint, method) record travel whole, in exactly one part. Even a record with every
status code is a few KB, so every part stays under ${MAX_EVENT_BYTES / 1024} KB. To put a report back together
(\`mergeReport(parts)\` in the package does exactly this):

${MERGE_RULES.map((rule, i) => `${i + 1}. ${rule}`).join('\n')}

${defs.join('\n\n')}

## keep-alive

${keepAlive.description}

${table(fieldRows(keepAlive.properties.properties, 'properties.'))}

## Histogram bounds

The buckets are fixed and exported (\`LATENCY_BOUNDS_MS\`, \`SIZE_BOUNDS_BYTES\`), so histograms from many instances
and versions add up bucket by bucket. \`buckets\` has one entry more than there are bounds; the last one counts what is
above the highest bound.

Latency, milliseconds (\`LATENCY_BOUNDS_MS\`: ${LATENCY_BOUNDS_MS.join(', ')}):

${boundsTable(LATENCY_BOUNDS_MS, 'ms')}

Response size, bytes (\`SIZE_BOUNDS_BYTES\`: ${SIZE_BOUNDS_BYTES.join(', ')}):

${boundsTable(SIZE_BOUNDS_BYTES, 'B')}

## Endpoints of the example app

\`paths\` can only ever hold entries of the application's allow-list (the \`endpoints\` option, \`/\` always included;
\`fastify.telemetry.endpoints\` lists it at run time). The example app (examples/server.mjs) publishes:

\`\`\`
${endpoints.map(endpoint => JSON.stringify(endpoint)).join(',\n')}
\`\`\`

A route counts under the longest entry that prefixes its template cut before the first parameter or wildcard, any
other request (including 404s) under \`/\`. Where the example app's requests are counted, as the plugin reports them:

| Request | Status | Counted as |
| --- | --- | --- |
${mapping.map(([request, status, counted]) => `| ${code(request)} | ${status} | ${counted === 'not counted' ? counted : code(counted)} |`).join('\n')}

\`/health\` (the plugin's health route) and routes with \`config: { telemetry: false }\` are never counted.

## Turning it off

\`enabled: false\`, or the environment variable \`DISABLE_TELEMETRY\` or \`DO_NOT_TRACK\` set to anything but empty,
\`0\`, \`false\` or \`no\`: no hooks, no timers, nothing sent. \`dryRun: true\` or \`TELEMETRY_DRY_RUN=1\` shows each event
where the startup notice goes (\`fastify.log\`, or standard error without a logger) instead of sending it, and
\`fastify.telemetry.preview()\` returns the bodies a report sent now would post.
`
}

// ---------------------------------------------------------------------------------------------------------------

/** JSON with two-space indent, histogram buckets kept on one line. */
const pretty = value => JSON.stringify(value, null, 2).replace(/\[\s+([-\d.e+,\s]+?)\s+\]/g, (_, items) => `[${items.split(/,\s+/).join(', ')}]`) + '\n'

const { values } = parseArgs({ options: { out: { type: 'string', default: fileURLToPath(new URL('..', import.meta.url)) } } })
const schemas = buildSchemas()
const [events, mapping] = [await captureEvents(), await countedAs()]

await mkdir(join(values.out, 'schema'), { recursive: true })
await mkdir(join(values.out, 'docs'), { recursive: true })
for (const [name, schema] of Object.entries(schemas)) {
  await writeFile(join(values.out, 'schema', `${name}.json`), JSON.stringify(schema, null, 2) + '\n')
}
await writeFile(join(values.out, 'docs', 'telemetry-example.json'), pretty(events))
await writeFile(join(values.out, 'docs', 'telemetry.md'), renderPage(schemas, mapping))
console.log(`docs: wrote schema/{${Object.keys(schemas).join(',')}}.json, docs/telemetry.md and docs/telemetry-example.json in ${values.out}`)
