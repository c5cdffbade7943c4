import createError from '@fastify/error'

// Every error the analysis commands raise carries an `FST_TELEMETRY_COLLECTOR_` code naming what was wrong, so a
// script can branch on `err.code` and a person reads which flag to fix.

/** A command-line flag is missing, malformed or out of range. Message: flag, what was expected, what was given. */
export const FST_TELEMETRY_COLLECTOR_INVALID_FLAG = createError<'FST_TELEMETRY_COLLECTOR_INVALID_FLAG', [string, string, string]>(
  'FST_TELEMETRY_COLLECTOR_INVALID_FLAG',
  'fastify-anonymous-telemetry-collector: flag "%s" must be %s; received %s',
  500,
  TypeError
)

/** A flag the command does not know: a typo must not silently change what runs. */
export const FST_TELEMETRY_COLLECTOR_UNKNOWN_FLAG = createError<'FST_TELEMETRY_COLLECTOR_UNKNOWN_FLAG', [string, string]>(
  'FST_TELEMETRY_COLLECTOR_UNKNOWN_FLAG',
  'fastify-anonymous-telemetry-collector: unknown flag "%s"; expected one of: %s',
  500,
  TypeError
)
