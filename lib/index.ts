import fp from 'fastify-plugin'
import { telemetry } from './plugin'

/** The plugin: `fastify.register(fastifyTelemetry, options)`. */
const fastifyTelemetry = fp(telemetry, { name: 'fastify-anonymous-telemetry', fastify: '5.x' })

export default fastifyTelemetry
export { fastifyTelemetry }
export type { TelemetryDecorator } from './plugin'
export type { WireBatch, WireEvent } from './dry-run'
export type { HealthOptions, TelemetryOptions } from './options'
export type { FeatureCounter, FeatureOptions, FeatureRecords, TypedFeatures } from './features'
export type { HistogramRecord, MetricsRecord, SizeHistogramRecord } from './counters'
export type { IdentifyTraits, KeepAliveProperties, MethodRecords, PathPart, TelemetryProperties, TelemetrySnapshot } from './report'
export type { PathRecord } from './counters'
export type { HealthResponse } from './health'
export type { MemoryRecord } from './memory'
export { LATENCY_BOUNDS_MS, SIZE_BOUNDS_BYTES } from './counters'
export { METHODS } from './anonymizer'
export { EVENTS, MAX_EVENT_BYTES, SCHEMA_VERSION, splitReport } from './report'
export { mergeReport } from './merge'
export { MAX_PENDING_REPORTS } from './delivery'
export { FEATURE_LIMITS } from './features'
export {
  FST_TELEMETRY_ALREADY_REGISTERED, FST_TELEMETRY_INVALID_OPTION, FST_TELEMETRY_INVALID_REPORT, FST_TELEMETRY_MISSING_OPTION,
  FST_TELEMETRY_UNKNOWN_FEATURE, FST_TELEMETRY_UNKNOWN_OPTION
} from './errors'

// `require('fastify-anonymous-telemetry')` and an ESM default import must both yield the plugin function itself, as with
// every Fastify plugin; the named exports stay reachable as its properties.
module.exports = Object.assign(fastifyTelemetry, exports)
