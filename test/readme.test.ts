import { execFile, spawn } from 'node:child_process'
import { once } from 'node:events'
import { readFileSync } from 'node:fs'
import { join } from 'node:path'
import { promisify } from 'node:util'
import t, { test } from 'tap'

// The README's "Install and use" example, exactly as written, in a project as `tsc --init` makes one (its defaults:
// `exactOptionalPropertyTypes`, `verbatimModuleSyntax`, `nodenext`...), using the built package by its name: it must
// type-check, and run without a single environment variable.

const root = join(__dirname, '..')
const run = promisify(execFile)
const tsc = join(root, 'node_modules', 'typescript', 'bin', 'tsc')

/** The first `ts` block of the README section `heading`. */
function example (heading: string): string {
  const readme = readFileSync(join(root, 'README.md'), 'utf8')
  const section = readme.slice(readme.indexOf(`\n## ${heading}\n`))
  const block = /```ts\n([\s\S]*?)```/.exec(section.slice(0, section.indexOf('\n## ', 1)))?.[1]
  if (block === undefined) throw new Error(`README: no ts block in "${heading}"`)
  return block
}

/** Runs the compiled example with exactly `env` until its log shows `until`, then stops it; resolves with its output. */
async function runExample (dir: string, env: NodeJS.ProcessEnv, until: string): Promise<{ stdout: string, stderr: string }> {
  const child = spawn(process.execPath, ['example.js'], { cwd: dir, env, stdio: ['ignore', 'pipe', 'pipe'] })
  const exited = once(child, 'exit')
  let stdout = ''
  let stderr = ''
  child.stderr.on('data', (chunk: Buffer) => { stderr += chunk.toString() })
  await new Promise<void>((resolve, reject) => {
    child.stdout.on('data', (chunk: Buffer) => {
      stdout += chunk.toString()
      if (stdout.includes(until) && stdout.includes('Server listening')) resolve()
    })
    exited.then(() => reject(new Error(`the example exited: ${stdout}${stderr}`)), reject)
  })
  child.kill()
  await exited
  return { stdout, stderr }
}

/**
 * A project as `tsc --init` makes one, holding the README's examples, compiled once for the file; resolves with its
 * directory and what tsc printed (nothing, when every file type-checks). In the file's own directory: a test's is
 * removed when that test ends.
 */
let project: Promise<{ dir: string, errors: string }> | undefined
async function compile (): Promise<{ dir: string, errors: string }> {
  project ??= (async () => {
    const source = example('Install and use')
    if (source.split('port: 3000').length !== 2) throw new Error('README: the example should listen on port 3000, once')
    const dir = t.testdir({
      'package.json': JSON.stringify({ name: 'readme-example', private: true, type: 'module' }),
      // The one change: any free port, since tests run side by side.
      'example.ts': source.replace('port: 3000', 'port: 0'),
      // The preview example, in an app of its own, with an admin check of its own.
      'preview.ts': [
        "import Fastify, { type onRequestHookHandler } from 'fastify'",
        "import telemetry from 'fastify-anonymous-telemetry'",
        'const requireAdmin: onRequestHookHandler = async () => {}',
        'const app = Fastify()',
        "await app.register(telemetry, { dryRun: true, issuerUrl: 'https://auth.example.com/' })",
        example('Dry run and preview')
      ].join('\n'),
      node_modules: { 'fastify-anonymous-telemetry': t.fixture('symlink', root) }
    })
    await run(process.execPath, [tsc, '--init'], { cwd: dir })
    const errors = await run(process.execPath, [tsc, '-p', dir], { cwd: dir }).then(() => '', (error: { stdout: string }) => error.stdout)
    return { dir, errors }
  })()
  return await project
}

test('the README examples type-check under tsc --init defaults, exactOptionalPropertyTypes included', async t => {
  const { dir, errors } = await compile()
  t.match(readFileSync(join(dir, 'tsconfig.json'), 'utf8'), /^\s*"exactOptionalPropertyTypes": true,/m, 'tsc --init turns it on')
  t.equal(errors, '', 'no type error')
})

test('the README example runs without any environment variable, and DISABLE_TELEMETRY turns it off', async t => {
  const { dir } = await compile()
  const { stdout, stderr } = await runExample(dir, {}, 'anonymous usage telemetry is on')
  t.match(stdout, '"msg":"fastify-anonymous-telemetry: anonymous usage telemetry is on; first report after 15 min of uptime.')
  t.equal(stderr, '')

  const off = await runExample(dir, { DISABLE_TELEMETRY: '1' }, 'telemetry is off')
  t.match(off.stdout, 'fastify-anonymous-telemetry: telemetry is off (env DISABLE_TELEMETRY)')
  t.notMatch(off.stdout, 'telemetry is on')
})
