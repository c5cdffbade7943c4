// The ECMAScript-module entry. It loads the CommonJS build with `require()` instead of letting Node's ESM loader
// translate dist/index.js: the translation (cjs-module-lexer over every file, each nested require routed through the
// ESM loader) made `import` cost ~17 ms against ~6 ms for `require()` (benchmarks/import-cost.mjs). Both ways give
// the same module instance, so there is no dual-package hazard.
import { createRequire } from 'node:module'
import type * as Entry from './index.js'

const plugin: typeof Entry = createRequire(import.meta.url)('./index.js')

// The default import is the plugin function itself, as with every Fastify plugin.
export default plugin.fastifyTelemetry
// fastify-plugin names the function after the plugin, too: `require()` users see it, so ESM users do.
export const fastifyAnonymousTelemetry = plugin.fastifyTelemetry
export const {
  fastifyTelemetry,
  LATENCY_BOUNDS_MS, SIZE_BOUNDS_BYTES, METHODS, EVENTS, MAX_EVENT_BYTES, SCHEMA_VERSION, MAX_PENDING_REPORTS, FEATURE_LIMITS,
  splitReport, mergeReport,
  FST_TELEMETRY_ALREADY_REGISTERED, FST_TELEMETRY_INVALID_OPTION, FST_TELEMETRY_INVALID_REPORT, FST_TELEMETRY_MISSING_OPTION,
  FST_TELEMETRY_UNKNOWN_FEATURE, FST_TELEMETRY_UNKNOWN_OPTION
} = plugin
export type * from './index.js'
