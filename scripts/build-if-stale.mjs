// `npm run demo` builds only what is out of date: on a machine where `npm test` has just built both packages, two
// `tsc` runs would be most of the demo's time. A package is rebuilt when any of its lib/ sources has no output in
// dist/ or one older than itself, when its tsconfig.json or package.json is newer than the oldest output, or (for
// the collector) when a plugin schema is newer than its build-time copy.
//
//   node scripts/build-if-stale.mjs           check both packages, run `npm run build` where needed
import { execFileSync } from 'node:child_process'
import { existsSync, readdirSync, statSync } from 'node:fs'
import { dirname, join, relative } from 'node:path'
import { fileURLToPath } from 'node:url'

const root = join(dirname(fileURLToPath(import.meta.url)), '..')
const mtime = file => existsSync(file) ? statSync(file).mtimeMs : -Infinity

function * files (dir) {
  for (const entry of readdirSync(dir, { withFileTypes: true })) {
    const path = join(dir, entry.name)
    if (entry.isDirectory()) yield * files(path)
    else yield path
  }
}

/** What `tsc` writes for a source: x.ts gives x.js, x.mts gives x.mjs; declaration files give nothing. */
function output (dir, source) {
  if (source.endsWith('.d.ts')) return null
  const rel = relative(join(dir, 'lib'), source)
  if (rel.endsWith('.mts')) return join(dir, 'dist', rel.replace(/\.mts$/, '.mjs'))
  if (rel.endsWith('.ts')) return join(dir, 'dist', rel.replace(/\.ts$/, '.js'))
  return null
}

/** Why the package in `dir` needs a build, or null when dist/ is current. */
function staleness (dir, copies) {
  let oldest = Infinity
  for (const source of files(join(dir, 'lib'))) {
    const out = output(dir, source)
    if (out === null) continue
    const built = mtime(out)
    if (built < mtime(source)) return `${relative(root, source)} is newer than ${relative(root, out)} (or it is missing)`
    oldest = Math.min(oldest, built)
  }
  for (const config of ['tsconfig.json', 'package.json']) {
    if (mtime(join(dir, config)) > oldest) return `${relative(root, join(dir, config))} changed since the last build`
  }
  for (const [from, to] of copies) {
    if (mtime(to) < mtime(from)) return `${relative(root, from)} is newer than its copy ${relative(root, to)}`
  }
  return null
}

const schemas = readdirSync(join(root, 'schema')).filter(name => name.endsWith('.json'))
const packages = [
  { dir: root, args: ['run', 'build'], copies: [] },
  {
    dir: join(root, 'collector'),
    args: ['run', 'build', '-w', 'collector'],
    copies: schemas.map(name => [join(root, 'schema', name), join(root, 'collector', 'schema', 'plugin', name)])
  }
]

for (const { dir, args, copies } of packages) {
  const name = relative(root, dir) || 'the plugin'
  const why = staleness(dir, copies)
  if (why === null) {
    console.log(`${name}: dist is current, not rebuilt`)
    continue
  }
  console.log(`${name}: building (${why})`)
  execFileSync('npm', args, { cwd: root, stdio: 'inherit' })
}
