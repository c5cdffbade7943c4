// The JSON Schemas (draft 2020-12) of the three events, built from the plugin's own constants (histogram bounds,
// method names, event names, format version), so they cannot drift from the code. `scripts/docs.mjs` writes them to
// schema/ and renders docs/telemetry.md from their descriptions: each field's meaning is written once, here.
import { EVENTS, FEATURE_LIMITS, LATENCY_BOUNDS_MS, METHODS, SCHEMA_VERSION, SIZE_BOUNDS_BYTES } from 'fastify-anonymous-telemetry'

const DIALECT = 'https://json-schema.org/draft/2020-12/schema'

/** A closed object: every property listed is required (unless in `optional`), nothing else is allowed. */
function object (description, properties, optional = []) {
  return {
    type: 'object',
    description,
    properties,
    required: Object.keys(properties).filter(key => !optional.includes(key)),
    additionalProperties: false
  }
}

const count = description => ({ type: 'integer', minimum: 0, description })
const bytes = description => ({ type: 'integer', minimum: 0, description })

function histogram (unit, bounds, boundsName, extra = {}) {
  return object(`Fixed-bucket histogram of ${unit}. Buckets are the same in every version and instance, so histograms add up.`, {
    count: count('Number of observations.'),
    sum: { type: 'number', minimum: 0, description: `Sum of the observed values, ${unit}.` },
    buckets: {
      type: 'array',
      items: { type: 'integer', minimum: 0 },
      minItems: bounds.length + 1,
      maxItems: bounds.length + 1,
      description: 'Non-cumulative counts: `buckets[i]` counts values `<= bounds[i]` and `> bounds[i - 1]`; the last entry ' +
        `counts values above the highest bound. Bounds (\`${boundsName}\`): ${bounds.join(', ')}.`
    },
    ...extra
  })
}

const METRICS_PROPERTIES = {
  requests: count('Requests received (`onRequest`), since the instance started.'),
  responses: count('Responses sent (`onResponse`), since the instance started.'),
  aborted: count('Requests the client closed before a response was sent (`onRequestAbort`).'),
  latency: { $ref: '#/$defs/latencyHistogram', description: 'Milliseconds from request to response (`reply.elapsedTime`).' },
  size: { $ref: '#/$defs/sizeHistogram', description: 'Response sizes in bytes (`content-length`).' },
  status: {
    type: 'object',
    description: 'HTTP status code -> number of responses. Codes outside 100..599 (only possible through `reply.raw`) count under `0`.',
    propertyNames: { pattern: '^(0|[1-5][0-9]{2})$' },
    additionalProperties: { type: 'integer', minimum: 1 }
  }
}

const methodsMap = description => ({
  type: 'object',
  description,
  propertyNames: { enum: [...METHODS] },
  additionalProperties: { $ref: '#/$defs/metrics' }
})

const METRICS_DEFS = {
  latencyHistogram: histogram('milliseconds from request to response (`reply.elapsedTime`)', LATENCY_BOUNDS_MS, 'LATENCY_BOUNDS_MS'),
  sizeHistogram: histogram('response sizes in bytes (`content-length`)', SIZE_BOUNDS_BYTES, 'SIZE_BOUNDS_BYTES', {
    unknown: count('Responses without a `content-length` (streams); not in `count`.')
  }),
  metrics: object('A metrics record: what is known about a set of requests. Counters are cumulative since the instance ' +
    'started, so a lost report loses nothing.', METRICS_PROPERTIES),
  pathPart: {
    ...object('An endpoint in one part of a report: its totals (the six metrics fields, all or none) and some of its ' +
      'methods. Both may be divided between parts: each endpoint\'s totals and each of its methods are in exactly one part ' +
      '(a report that fits in one event has every endpoint whole).', {
      ...METRICS_PROPERTIES,
      methods: methodsMap('HTTP method -> metrics record of this endpoint and method, for the methods in this part. Methods ' +
        'without traffic are left out.')
    }, Object.keys(METRICS_PROPERTIES)),
    // The totals travel together; an entry holds at least the totals or one method.
    dependentRequired: Object.fromEntries(Object.keys(METRICS_PROPERTIES).map(key => [key, Object.keys(METRICS_PROPERTIES)])),
    anyOf: [{ required: ['requests'] }, { properties: { methods: { type: 'object', minProperties: 1 } } }]
  },
  memory: object('Process memory, from `process.memoryUsage()`, `v8.getHeapStatistics()` and a `PerformanceObserver` on `gc`.', {
    rss: bytes('Resident set size, bytes (`process.memoryUsage().rss`).'),
    heapTotal: bytes('V8 heap allocated, bytes (`heapTotal`).'),
    heapUsed: bytes('V8 heap in use, bytes (`heapUsed`).'),
    external: bytes('Memory of C++ objects bound to JavaScript objects, bytes (`external`).'),
    arrayBuffers: bytes('Memory of `ArrayBuffer`s and `Buffer`s, bytes (`arrayBuffers`).'),
    heapSizeLimit: bytes('Heap size limit, bytes (`heap_size_limit`).'),
    mallocedMemory: bytes('Memory allocated through malloc by V8, bytes (`malloced_memory`).'),
    peakMallocedMemory: bytes('Peak of `mallocedMemory`, bytes (`peak_malloced_memory`).'),
    gcCycles: count('Garbage collections since telemetry started.'),
    gcPauseMs: { type: 'number', minimum: 0, description: 'Total garbage collection pause since telemetry started, milliseconds.' }
  })
}

const uuid = description => ({ type: 'string', format: 'uuid', description })
const INSTANCE_ID = uuid('Random UUID (v4) made when the plugin starts: tells the instances of one cluster apart. New on every start.')
const FORMAT_VERSION = {
  const: SCHEMA_VERSION,
  description: 'Version of the event format; raised whenever a field changes meaning or disappears.'
}

/** What every event carries besides its payload; most of it is added by the Segment SDK. */
function envelope (type, event, payloadName, payload) {
  return {
    type: { const: type, description: `Segment call: \`${type}\`.` },
    ...(event === null ? {} : { event: { const: event, description: 'Event name.' } }),
    anonymousId: {
      type: 'string',
      pattern: '^[0-9a-f]{128}$',
      description: 'Cluster id: lowercase hex SHA-512 of the installation\'s issuer URL (`issuerUrl` option), or ' +
        'HMAC-SHA-512 keyed with the `hashKey` option. The same for every instance of one installation; quote it to ask ' +
        'for deletion. Without `hashKey`, anyone who guesses the URL can recompute it.'
    },
    [payloadName]: payload,
    context: object('Segment context: only these two fields. No host name, user agent, locale or address.', {
      ip: { const: '0.0.0.0', description: 'Always `0.0.0.0`, set by the plugin, so that Segment does not record the sender\'s IP address.' },
      library: object('Added by the Segment SDK: the library that sent the event.', {
        name: { const: '@segment/analytics-node', description: 'SDK name.' },
        version: { type: 'string', minLength: 1, description: 'SDK version.' }
      })
    }),
    messageId: {
      type: 'string',
      minLength: 1,
      pattern: '^node-next-[0-9]+-[0-9a-f-]{36}$',
      description: 'Unique id of this message in the Segment SDK\'s own format (`node-next-<ms>-<uuid>`), made by the plugin so that it can match the SDK\'s delivery reports; lets Segment drop duplicates of a retried batch.'
    },
    timestamp: { type: 'string', format: 'date-time', description: 'Added by the Segment SDK: when the event was created (ISO 8601, UTC).' },
    _metadata: object('Added by the Segment SDK: the JavaScript runtime that sent the event.', {
      nodeVersion: { type: 'string', description: '`process.version`; present when the runtime is Node.js.' },
      jsRuntime: { type: 'string', description: 'Runtime the SDK detected: `node`.' }
    }, ['nodeVersion']),
    integrations: {
      type: 'object',
      maxProperties: 0,
      description: 'Added by the Segment SDK: per-destination switches. Always empty (the source\'s own settings apply).'
    }
  }
}

function eventSchema (name, title, description, fields, extra = {}) {
  return {
    $schema: DIALECT,
    $id: `urn:fastify-anonymous-telemetry:schema:${name}`,
    title,
    description,
    type: 'object',
    properties: fields,
    required: Object.keys(fields),
    additionalProperties: false,
    ...extra
  }
}

// Only part 1 of a report carries its totals, `memory` and the feature records.
const PART_ONE_ONLY = [...Object.keys(METRICS_PROPERTIES), 'memory', 'facts', 'features']

/** Fact and counter names and fact values: literals from the application's `features` option. */
const FEATURE_NAME = { type: 'string', pattern: '^[a-z0-9][a-z0-9_.-]{0,63}$' }

/**
 * How a receiver puts a report back together (also `mergeReport` in the package). Written once, here: it is the
 * schema's description of `parts` and a section of docs/telemetry.md.
 */
export const MERGE_RULES = [
  'Group `telemetry` events by `reportId`; the report is complete when parts 1..`parts` have all arrived (each once).',
  'Part 1, and only part 1, carries the report\'s totals (`requests`, `responses`, `aborted`, `latency`, `size`, ' +
    '`status`), `memory`, `facts` and `features`; `instanceId`, `schemaVersion` and `uptime` are the same in every part.',
  '`methods` of the report: the union of every part\'s `methods`. Each method is in exactly one part.',
  '`paths` of the report: for each endpoint, its totals come from the one part whose entry has them, and its `methods` ' +
    'are the union of its entries\' `methods` over every part. Each (endpoint, method) record is in exactly one part.',
  'Nothing is ever split inside a metrics record, and nothing is dropped or repeated: the merged report equals the ' +
    '`fastify.telemetry.snapshot()` it was cut from.'
]

const telemetryProperties = {
  ...object('The report. Counters are cumulative since the instance started.', {
    instanceId: INSTANCE_ID,
    schemaVersion: FORMAT_VERSION,
    uptime: count('Whole seconds since the server became ready.'),
    reportId: uuid('Random UUID shared by every part of one report.'),
    part: { type: 'integer', minimum: 1, description: 'Which part of the report this event is, from 1. Part 1 carries the totals, `memory`, `facts` and `features`.' },
    parts: {
      type: 'integer',
      minimum: 1,
      description: 'How many events the report was split into to keep each under Segment\'s 32 KB limit. A report is cut ' +
        'between metrics records, never inside one, and recombines as follows. ' + MERGE_RULES.map((rule, i) => `(${i + 1}) ${rule}`).join(' ')
    },
    ...METRICS_PROPERTIES,
    methods: methodsMap('HTTP method -> metrics record of the whole server, for the methods in this part. `GET`, `HEAD`, ' +
      '`POST`, `PUT`, `DELETE`, `PATCH` and `OPTIONS` by name, any other method as `OTHER`. Methods without traffic are left out.'),
    paths: {
      type: 'object',
      description: 'Endpoint -> its records in this part. Endpoints are entries of the application\'s `endpoints` allow-list (`/` ' +
        'always included), never a raw URL: a route counts under the longest entry that prefixes its template cut before the ' +
        'first parameter (`/books/:isbn` -> `/books`), anything else under `/`. Endpoints without traffic are left out.',
      propertyNames: { pattern: '^/' },
      additionalProperties: { $ref: '#/$defs/pathPart' }
    },
    memory: { $ref: '#/$defs/memory', description: 'Memory and garbage collection of the process.' },
    facts: {
      type: 'object',
      description: 'Fact name -> the value the application last set with `fastify.telemetry.fact()`. Names and values are ' +
        'entries of the application\'s `features.facts` option; a value not on its fact\'s list is sent as `other`. Facts ' +
        `never set are left out. At most ${FEATURE_LIMITS.facts} facts.`,
      propertyNames: { ...FEATURE_NAME, title: 'fact' },
      additionalProperties: FEATURE_NAME,
      maxProperties: FEATURE_LIMITS.facts
    },
    features: {
      type: 'object',
      description: 'Counter name -> uses counted with `fastify.telemetry.counter(name).inc()` since the instance started ' +
        '(cumulative, like the request counters). Names are the application\'s `features.counters` option, every one ' +
        `present, unused ones at 0. At most ${FEATURE_LIMITS.counters} counters.`,
      propertyNames: { ...FEATURE_NAME, title: 'counter' },
      additionalProperties: { type: 'integer', minimum: 0, maximum: Number.MAX_SAFE_INTEGER },
      maxProperties: FEATURE_LIMITS.counters
    }
  }, PART_ONE_ONLY),
  if: { properties: { part: { const: 1 } } },
  then: { required: PART_ONE_ONLY },
  else: { properties: Object.fromEntries(PART_ONE_ONLY.map(key => [key, false])) }
}

const BUILD_FACT = option => ({
  type: 'string',
  minLength: 1,
  description: `The application's ${option === 'hash' ? 'source revision' : option === 'version' ? 'version' : 'build time'} ` +
    `(\`${option}\` option); \`unknown\` when not set.`
})

/** `{ 'identify': schema, 'telemetry': schema, 'keep-alive': schema }`, in the order events are first sent. */
export function buildSchemas () {
  return {
    identify: eventSchema('identify', 'identify',
      'Sent once per instance, when its uptime reaches `identifyAfter` (15 min by default): what the instance runs on.',
      envelope('identify', null, 'traits', object('Facts about the instance.', {
        instanceId: INSTANCE_ID,
        schemaVersion: FORMAT_VERSION,
        os: { type: 'string', minLength: 1, description: '`process.platform`: `linux`, `darwin`, `win32`, ...' },
        arch: { type: 'string', minLength: 1, description: '`process.arch`: `x64`, `arm64`, ...' },
        numCpu: { type: 'integer', minimum: 1, description: '`os.availableParallelism()`: CPUs available to the process.' },
        runtimeVersion: { type: 'string', pattern: '^v[0-9]+\\.[0-9]+\\.[0-9]+', description: '`process.version`: the Node.js version.' },
        version: BUILD_FACT('version'),
        hash: BUILD_FACT('hash'),
        buildTime: BUILD_FACT('buildTime')
      }))),
    [EVENTS.report]: eventSchema(EVENTS.report, 'telemetry (report)',
      'Sent right after `identify`, then every `reportInterval` (15 min by default), and once more when the server closes: ' +
      'request counts, latency and size histograms and status codes, for the whole server, per method and per endpoint, memory, ' +
      'and the application\'s feature facts and counters.',
      envelope('track', EVENTS.report, 'properties', telemetryProperties),
      { $defs: METRICS_DEFS }),
    [EVENTS.keepAlive]: eventSchema(EVENTS.keepAlive, 'keep-alive',
      'Sent every `keepAliveInterval` (5 min by default) after `identify`: the instance is still running. Nothing else.',
      envelope('track', EVENTS.keepAlive, 'properties', object('Only who is alive.', {
        instanceId: INSTANCE_ID,
        schemaVersion: FORMAT_VERSION
      })))
  }
}
