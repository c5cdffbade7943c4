import { readFileSync } from 'node:fs'
import { join } from 'node:path'
import Ajv2020, { type ValidateFunction } from 'ajv/dist/2020'
import addFormats from 'ajv-formats'

/** The shipped schemas, one per event name, as `npm run docs` wrote them. */
export const SCHEMA_NAMES = ['identify', 'telemetry', 'keep-alive'] as const
export type SchemaName = typeof SCHEMA_NAMES[number]

export function readSchema (name: SchemaName): Record<string, any> {
  return JSON.parse(readFileSync(join(__dirname, '..', '..', 'schema', `${name}.json`), 'utf8'))
}

let validators: Map<string, ValidateFunction> | undefined

/** Compiled once per test process, on first use. Ajv's default strict mode rejects unknown keywords and formats. */
function validatorFor (name: string): ValidateFunction | undefined {
  if (validators === undefined) {
    const ajv = new Ajv2020({ allErrors: true })
    addFormats(ajv)
    validators = new Map(SCHEMA_NAMES.map(schema => [schema, ajv.compile(readSchema(schema))]))
  }
  return validators.get(name)
}

/** `identify`, `telemetry`, `keep-alive`, or whatever else arrived. */
export function eventName (event: { type?: unknown, event?: unknown }): string {
  return event.type === 'identify' ? 'identify' : String(event.event)
}

/** Every way `event` breaks the schema of its kind, one readable line each; empty when it conforms. */
export function schemaViolations (event: { type?: unknown, event?: unknown }): string[] {
  const name = eventName(event)
  let validate: ValidateFunction | undefined
  try {
    validate = validatorFor(name)
  } catch (error) {
    // Reported, not thrown: the collector calls this while answering a request, which must still be answered.
    return [`${name}: the schemas in schema/ do not compile: ${(error as Error).message}`]
  }
  if (validate === undefined) return [`${name}: no schema for this event (type ${String(event.type)})`]
  if (validate(event)) return []
  return (validate.errors ?? []).map(error =>
    `${name}: ${error.instancePath === '' ? '(event)' : error.instancePath} ${error.message ?? 'is invalid'} ${JSON.stringify(error.params)}`)
}
