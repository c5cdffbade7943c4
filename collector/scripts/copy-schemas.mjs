// Build step: the collector validates events against the plugin's own JSON Schemas. A workspace cannot depend on
// the unpublished root package (npm answers E404; `file:..` would be published as is), so the schemas the plugin
// holds at build time are copied into schema/plugin/ (git-ignored, shipped in the tarball). schema/v1/ and schema/v2/
// keep the schemaVersion 1 and 2 schemas, committed, so that events of older plugins stay valid after the plugin moves on.
import { copyFileSync, mkdirSync, readdirSync, rmSync } from 'node:fs'
import { dirname, join } from 'node:path'
import { fileURLToPath } from 'node:url'

const collector = join(dirname(fileURLToPath(import.meta.url)), '..')
const from = join(collector, '..', 'schema')
const to = join(collector, 'schema', 'plugin')
rmSync(to, { recursive: true, force: true })
mkdirSync(to, { recursive: true })
for (const name of readdirSync(from).filter(name => name.endsWith('.json'))) copyFileSync(join(from, name), join(to, name))
