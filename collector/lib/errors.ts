import createError from '@fastify/error'

// Every error the collector raises carries an `FST_TELEMETRY_COLLECTOR_` code; request errors also carry the HTTP
// status the sender gets, and /health counts rejections by code.

/** An option (or a `serve` flag) has the wrong type or value. Message: its name, what was expected, what was given. */
export const FST_TELEMETRY_COLLECTOR_INVALID_OPTION = createError<'FST_TELEMETRY_COLLECTOR_INVALID_OPTION', [string, string, string]>(
  'FST_TELEMETRY_COLLECTOR_INVALID_OPTION',
  'fastify-anonymous-telemetry-collector: option "%s" must be %s; received %s',
  500,
  TypeError
)

/** No write key, or one that is not configured: nothing is stored. */
export const FST_TELEMETRY_COLLECTOR_UNAUTHORIZED = createError<'FST_TELEMETRY_COLLECTOR_UNAUTHORIZED', [string]>(
  'FST_TELEMETRY_COLLECTOR_UNAUTHORIZED',
  '%s',
  401
)

/** Over one of Segment's limits (32 KB per event, 500 KB per batch, 2 500 events per batch). */
export const FST_TELEMETRY_COLLECTOR_OVER_LIMIT = createError<'FST_TELEMETRY_COLLECTOR_OVER_LIMIT', [string]>(
  'FST_TELEMETRY_COLLECTOR_OVER_LIMIT',
  '%s',
  400
)

/** The body is not a batch: content type, encoding, UTF-8, JSON or shape. */
export const FST_TELEMETRY_COLLECTOR_BAD_BODY = createError<'FST_TELEMETRY_COLLECTOR_BAD_BODY', [string]>(
  'FST_TELEMETRY_COLLECTOR_BAD_BODY',
  '%s',
  400
)

/** One event of the batch is invalid (Segment's rules or the plugin's JSON Schema): the whole batch is refused. */
export const FST_TELEMETRY_COLLECTOR_INVALID_EVENT = createError<'FST_TELEMETRY_COLLECTOR_INVALID_EVENT', [string]>(
  'FST_TELEMETRY_COLLECTOR_INVALID_EVENT',
  '%s',
  400
)

/** The batch could not be written and synced; the sender should retry. */
export const FST_TELEMETRY_COLLECTOR_NOT_STORED = createError<'FST_TELEMETRY_COLLECTOR_NOT_STORED', [string]>(
  'FST_TELEMETRY_COLLECTOR_NOT_STORED',
  'the batch was not stored: %s',
  503
)
