import { existsSync, readdirSync, readFileSync } from 'node:fs'
import { join } from 'node:path'
import Ajv2020, { type ValidateFunction } from 'ajv/dist/2020'
import addFormats from 'ajv-formats'

/**
 * The plugin's JSON Schemas, by format version and event kind. `schema/plugin/` is what the plugin held when this
 * package was built (scripts/copy-schemas.mjs); `schema/v1/` and `schema/v2/` keep the schemaVersion 1 and 2
 * schemas, so that older plugins stay valid once the plugin moves on. Kind and version are read from each schema's own `const`s, not
 * from file names. Where both hold one version, the plugin's copy wins.
 */
export const SCHEMA_DIRS = ['v1', 'v2', 'plugin'].map(dir => join(__dirname, '..', 'schema', dir))

type Schema = Record<string, any>

/** `identify`, or the event name of a track (`telemetry`, `keep-alive`, ...). */
export function kindOf (schema: Schema): string {
  return schema.properties.event?.const ?? schema.properties.type.const
}

export function versionOf (schema: Schema): number {
  const payload = schema.properties.traits ?? schema.properties.properties
  return payload.properties.schemaVersion.const
}

export class Schemas {
  /** version → kind → validator. One Ajv per version: every version's schemas share their `$id`s. */
  private readonly validators = new Map<number, Map<string, ValidateFunction>>()

  constructor (dirs = SCHEMA_DIRS) {
    const byVersion = new Map<number, Map<string, Schema>>()
    for (const dir of dirs.filter(dir => existsSync(dir))) {
      for (const name of readdirSync(dir).filter(name => name.endsWith('.json')).sort()) {
        const schema: Schema = JSON.parse(readFileSync(join(dir, name), 'utf8'))
        const version = versionOf(schema)
        if (!byVersion.has(version)) byVersion.set(version, new Map())
        byVersion.get(version)?.set(kindOf(schema), schema)
      }
    }
    for (const [version, schemas] of byVersion) {
      const ajv = new Ajv2020()
      addFormats(ajv)
      this.validators.set(version, new Map([...schemas].map(([kind, schema]) => [kind, ajv.compile(schema)])))
    }
  }

  get versions (): number[] {
    return [...this.validators.keys()].sort((a, b) => a - b)
  }

  knows (version: number): boolean {
    return this.validators.has(version)
  }

  /** Why `event` breaks the schema of its kind at `version` (a known one), or undefined when it conforms. */
  violation (version: number, kind: string, event: unknown): string | undefined {
    const validate = this.validators.get(version)?.get(kind)
    if (validate === undefined) return `no schema for "${kind}" at schemaVersion ${version}`
    if (validate(event)) return undefined
    // allErrors is off: Ajv stops at the first error, which is the one reported.
    const [error] = validate.errors as NonNullable<typeof validate.errors>
    return `${error.instancePath === '' ? 'the event' : error.instancePath} ${String(error.message)}` +
      (error.keyword === 'additionalProperties' ? ` (${String(error.params.additionalProperty)})` : '')
  }
}
