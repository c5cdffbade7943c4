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

/** The database file was written by a collector whose tables differ: the stored files must be ingested anew. */
export const FST_TELEMETRY_COLLECTOR_DATABASE_MODEL = createError<'FST_TELEMETRY_COLLECTOR_DATABASE_MODEL', [string, number, number]>(
  'FST_TELEMETRY_COLLECTOR_DATABASE_MODEL',
  'fastify-anonymous-telemetry-collector: database "%s" holds tables of model %s, this collector reads and writes model %s; ingest the stored files into a new database file (the files themselves are unchanged)',
  500
)
