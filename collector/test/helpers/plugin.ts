import { execFileSync } from 'node:child_process'
import { existsSync } from 'node:fs'
import { join } from 'node:path'

const ROOT = join(__dirname, '..', '..', '..')

/**
 * The real plugin, from the root package's build (`dist/`): it is not a dependency of the collector. The root
 * `npm test` builds it before the collector's tests run; run alone, the test builds it first.
 */
export function loadPlugin (): { default: (...args: any[]) => any } {
  const entry = join(ROOT, 'dist', 'index.js')
  if (!existsSync(entry)) execFileSync(process.execPath, [join(ROOT, 'node_modules', 'typescript', 'bin', 'tsc'), '-p', join(ROOT, 'tsconfig.json')])
  return require(entry)
}
