// Types for ECMAScript-module importers. dist/index.js is CommonJS whose `module.exports` is the plugin function
// itself, so Node hands `import telemetry from 'fastify-anonymous-telemetry'` that function; index.d.ts, compiled from ES
// export syntax, would make TypeScript expect the whole exports object there instead and reject `register(telemetry)`.
export * from './index.js'
export { fastifyTelemetry as default } from './index.js'
