import createError from '@fastify/error'

// Every error this plugin raises carries an `FST_TELEMETRY_` code, so callers can branch on `err.code`
// instead of parsing messages.

/** An option has the wrong type or value. Message: option name, what was expected, what was given. */
export const FST_TELEMETRY_INVALID_OPTION = createError<'FST_TELEMETRY_INVALID_OPTION', [string, string, string]>(
  'FST_TELEMETRY_INVALID_OPTION',
  'fastify-anonymous-telemetry: option "%s" must be %s; received %s',
  500,
  TypeError
)

/** A required option is missing while telemetry is on. */
export const FST_TELEMETRY_MISSING_OPTION = createError<'FST_TELEMETRY_MISSING_OPTION', [string, string]>(
  'FST_TELEMETRY_MISSING_OPTION',
  'fastify-anonymous-telemetry: option "%s" is required %s',
  500,
  TypeError
)

/** An option name is not one this plugin knows: a typo must not silently disable a setting. */
export const FST_TELEMETRY_UNKNOWN_OPTION = createError<'FST_TELEMETRY_UNKNOWN_OPTION', [string, string]>(
  'FST_TELEMETRY_UNKNOWN_OPTION',
  'fastify-anonymous-telemetry: unknown option "%s"; expected one of: %s',
  500,
  TypeError
)

/** The plugin is registered a second time on one server, in the same context or another. */
export const FST_TELEMETRY_ALREADY_REGISTERED = createError<'FST_TELEMETRY_ALREADY_REGISTERED', []>(
  'FST_TELEMETRY_ALREADY_REGISTERED',
  'fastify-anonymous-telemetry: the plugin is already registered on this server; register it once per server, ' +
    'on the root instance (before the routes it should count), not again in a child context',
  500
)

/** `mergeReport` was given parts that are not all the parts of one report. */
export const FST_TELEMETRY_INVALID_REPORT = createError<'FST_TELEMETRY_INVALID_REPORT', [string]>(
  'FST_TELEMETRY_INVALID_REPORT',
  'fastify-anonymous-telemetry: cannot merge report parts: %s',
  400,
  TypeError
)

/**
 * `fastify.telemetry.fact()` or `counter()` named something the `features` option does not declare. Thrown whether
 * telemetry is on or off, so that a typo shows up in development.
 */
export const FST_TELEMETRY_UNKNOWN_FEATURE = createError<'FST_TELEMETRY_UNKNOWN_FEATURE', [string, string, string]>(
  'FST_TELEMETRY_UNKNOWN_FEATURE',
  'fastify-anonymous-telemetry: unknown %s "%s"; the features option declares: %s',
  500,
  TypeError
)
