import { existsSync, readdirSync, readFileSync, statSync } from 'node:fs'
import { dirname, join, relative } from 'node:path'
import { test } from 'tap'

// The docs stay true: every relative link and anchor in every Markdown file of the repository (both packages)
// resolves as GitHub resolves it, and each README stays short enough to read in ten minutes, the depth one link away.

const root = join(__dirname, '..')
/** Lines a README may have; a section that outgrows it moves to a page under docs/ that the README links to. */
const README_BUDGET = 250
const READMES = ['README.md', 'collector/README.md']

/** Every Markdown file of the repository: not dependencies, builds, coverage or tap's own directories. */
function markdownFiles (dir = root): string[] {
  return readdirSync(dir, { withFileTypes: true }).flatMap(entry => {
    if (entry.name.startsWith('.') || ['node_modules', 'dist', 'coverage'].includes(entry.name)) return []
    const path = join(dir, entry.name)
    if (entry.isDirectory()) return markdownFiles(path)
    return entry.name.endsWith('.md') ? [path] : []
  })
}

/** The lines that Markdown renders as text: fenced code blocks blanked, so that nothing in them counts. */
function proseLines (text: string): string[] {
  let fence: string | null = null
  return text.split('\n').map(line => {
    const marker = /^\s*(`{3,}|~{3,})/.exec(line)?.[1]
    if (fence === null && marker !== undefined) {
      fence = marker
      return ''
    }
    if (fence !== null) {
      if (marker !== undefined && marker[0] === fence[0] && marker.length >= fence.length) fence = null
      return ''
    }
    return line
  })
}

/** GitHub's anchor for a heading: lower case, punctuation dropped, spaces as hyphens (github-slugger's rules). */
function slug (heading: string): string {
  const text = heading
    .replace(/!?\[([^\]]*)\]\([^)]*\)/g, '$1') // a link reads as its text
    .replace(/<[^>]+>/g, '')
    .replace(/[`*]/g, '')
  return text.trim().toLowerCase().replace(/[^\p{L}\p{M}\p{N}\p{Pc}\- ]/gu, '').replace(/ /g, '-')
}

/** The anchors of a file: one per heading (repeats get -1, -2 …, as on GitHub) and any explicit id or name. */
function anchors (file: string): Set<string> {
  const found = new Set<string>()
  const seen = new Map<string, number>()
  for (const line of proseLines(readFileSync(file, 'utf8'))) {
    const heading = /^ {0,3}#{1,6}\s+(.*?)(?:\s+#+)?\s*$/.exec(line)?.[1]
    if (heading !== undefined) {
      const base = slug(heading)
      const count = seen.get(base) ?? 0
      seen.set(base, count + 1)
      found.add(count === 0 ? base : `${base}-${count}`)
    }
    for (const [, id] of line.matchAll(/<a\s+(?:name|id)="([^"]+)"/g)) found.add(id)
  }
  return found
}

interface Link { line: number, target: string }

/** Inline links and images, and reference definitions, outside code; each with its line number. */
function links (file: string): Link[] {
  return proseLines(readFileSync(file, 'utf8')).flatMap((line, index) => {
    const text = line.replace(/(`+)[^`]*?\1/g, '') // a code span is not a link
    const targets = [...text.matchAll(/\]\(\s*<?([^)\s>]+)>?(?:\s+"[^"]*")?\s*\)/g), ...text.matchAll(/^ {0,3}\[[^\]]+\]:\s+<?(\S+?)>?(?:\s|$)/g)]
    return targets.map(match => ({ line: index + 1, target: match[1] }))
  })
}

const isExternal = (target: string): boolean => /^[a-z][a-z0-9+.-]*:/i.test(target)

/** Why a relative link from `file` does not resolve, or null when it does. */
function broken (file: string, target: string, anchorsOf: (file: string) => Set<string>): string | null {
  const hash = target.indexOf('#')
  const path = hash === -1 ? target : target.slice(0, hash)
  const anchor = hash === -1 ? null : decodeURIComponent(target.slice(hash + 1))
  const resolved = path === '' ? file : join(dirname(file), decodeURIComponent(path))
  if (!existsSync(resolved)) return `${relative(root, resolved)} does not exist`
  if (anchor === null || anchor === '') return null
  if (!resolved.endsWith('.md') || statSync(resolved).isDirectory()) return `an anchor into ${relative(root, resolved)}, which is not a Markdown file`
  return anchorsOf(resolved).has(anchor) ? null : `${relative(root, resolved)} has no heading with the anchor #${anchor}`
}

test('the anchor of a heading is the one GitHub gives it', async t => {
  t.equal(slug('NestJS and @fastify/autoload'), 'nestjs-and-fastifyautoload')
  t.equal(slug('Receive: the API'), 'receive-the-api')
  t.equal(slug('`fastify.telemetry`'), 'fastifytelemetry')
  t.equal(slug('The stats page / stats.json schema'), 'the-stats-page--statsjson-schema')
  t.equal(slug('Fields the Segment SDK adds by itself'), 'fields-the-segment-sdk-adds-by-itself')
  t.equal(slug('What is sent, and [why](#why)'), 'what-is-sent-and-why')
  t.equal(slug('Über_Größe 2'), 'über_größe-2')
})

test('links in code blocks and code spans are not links; reference definitions are', async t => {
  const dir = t.testdir({
    'a.md': '# A\n\n## Twice\n\n## Twice\n\n```md\n[no](missing.md)\n```\n\n`[no](missing.md)` [yes](b.md#b-title) [self](#twice-1)\n\n[ref]: b.md\n',
    'b.md': '# B title\n'
  })
  const file = join(dir, 'a.md')
  t.strictSame(links(file).map(link => link.target), ['b.md#b-title', '#twice-1', 'b.md'])
  t.strictSame([...anchors(file)], ['a', 'twice', 'twice-1'])
  t.equal(broken(file, 'b.md#b-title', anchors), null)
  t.match(broken(file, 'b.md#nope', anchors), /has no heading with the anchor #nope/)
  t.match(broken(file, 'c.md', anchors), /c\.md does not exist/)
})

test('every relative link and anchor in every Markdown file resolves', async t => {
  const files = markdownFiles()
  t.ok(files.length >= READMES.length, `${files.length} Markdown files`)
  const cache = new Map<string, Set<string>>()
  const anchorsOf = (file: string): Set<string> => {
    if (!cache.has(file)) cache.set(file, anchors(file))
    return cache.get(file) as Set<string>
  }
  let checked = 0
  for (const file of files) {
    for (const { line, target } of links(file)) {
      if (isExternal(target)) continue
      checked++
      const why = broken(file, target, anchorsOf)
      if (why !== null) t.fail(`${relative(root, file)}:${line}: (${target}): ${why}`)
    }
  }
  t.ok(checked > 0, `${checked} relative links checked in ${files.length} files`)
})

for (const readme of READMES) {
  test(`${readme} stays within its budget of ${README_BUDGET} lines`, async t => {
    const lines = readFileSync(join(root, readme), 'utf8').trimEnd().split('\n').length
    t.ok(lines <= README_BUDGET, `${readme} has ${lines} lines; move depth to a page under docs/ and link to it`)
  })
}

test('README.md keeps the install line', async t => {
  t.match(readFileSync(join(root, 'README.md'), 'utf8'), /^npm install fastify-anonymous-telemetry$/m)
})
