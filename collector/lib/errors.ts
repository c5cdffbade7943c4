import createError from '@fastify/error'

// Every error the collector raises carries an `FST_TELEMETRY_COLLECTOR_` code, so a script can branch on `err.code`
// and a person reads which option, flag or path to fix. Request errors also carry the HTTP status the sender gets,
// and /health counts rejections by code. The package exports the receiver's codes (index.ts); the analysis commands'
// codes reach users through the command line.

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

/** A command line the command cannot run: the message names the flag or argument and what was expected (exit code 2). */
export const FST_TELEMETRY_COLLECTOR_USAGE = createError<'FST_TELEMETRY_COLLECTOR_USAGE', [string]>(
  'FST_TELEMETRY_COLLECTOR_USAGE',
  '%s',
  500,
  TypeError
)

/** The database file was written by a collector whose tables differ: the stored files must be ingested anew. */
export const FST_TELEMETRY_COLLECTOR_DATABASE_MODEL = createError<'FST_TELEMETRY_COLLECTOR_DATABASE_MODEL', [string, number, number]>(
  'FST_TELEMETRY_COLLECTOR_DATABASE_MODEL',
  'fastify-anonymous-telemetry-collector: database "%s" holds tables of model %s, this collector reads and writes model %s; ingest the stored files into a new database file (the files themselves are unchanged)',
  500
)

/** A database opened read-only (a report) does not exist: nothing was ingested there. */
export const FST_TELEMETRY_COLLECTOR_NO_DATABASE = createError<'FST_TELEMETRY_COLLECTOR_NO_DATABASE', [string]>(
  'FST_TELEMETRY_COLLECTOR_NO_DATABASE',
  'no fleet database at %s (--db): run ingest first',
  500
)

/** DuckDB could not open a database file: another process holds it, or it is no DuckDB database. */
export const FST_TELEMETRY_COLLECTOR_DATABASE = createError<'FST_TELEMETRY_COLLECTOR_DATABASE', [string, string]>(
  'FST_TELEMETRY_COLLECTOR_DATABASE',
  'cannot open the database %s: %s',
  500
)

/** The report's privacy floor k is not an integer ≥ 1. */
export const FST_TELEMETRY_COLLECTOR_MIN_INSTALLATIONS = createError<'FST_TELEMETRY_COLLECTOR_MIN_INSTALLATIONS', [string]>(
  'FST_TELEMETRY_COLLECTOR_MIN_INSTALLATIONS',
  'minInstallations (--min-installations) must be an integer ≥ 1, got %s',
  500,
  TypeError
)

/** The report's project name is empty, too long or holds a control character. */
export const FST_TELEMETRY_COLLECTOR_TITLE = createError<'FST_TELEMETRY_COLLECTOR_TITLE', [number, string]>(
  'FST_TELEMETRY_COLLECTOR_TITLE',
  'title (--title) must be 1 to %s characters with no control character, got %s',
  500,
  TypeError
)

/** The report's window is not a whole number of days ≥ 1. */
export const FST_TELEMETRY_COLLECTOR_DAYS = createError<'FST_TELEMETRY_COLLECTOR_DAYS', [string]>(
  'FST_TELEMETRY_COLLECTOR_DAYS',
  'days (--days) must be an integer ≥ 1, got %s',
  500,
  TypeError
)
