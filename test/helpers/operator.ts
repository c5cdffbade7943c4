import { fork } from 'node:child_process'
import { once } from 'node:events'
import { join } from 'node:path'
import type { NoticeApp } from '../fixtures/notice-app'
import type { LogLine } from './log-sink'

// What the operator of a process sees: runs apps in a child process of their own (test/fixtures/notice-app.ts)
// and returns what it wrote to stdout (the Fastify loggers' JSON lines) and to stderr.

export interface Seen {
  /** The loggers' JSON lines on stdout. */
  logged: LogLine[]
  /** The plugin's lines on stderr. */
  stderr: string[]
}

function parse (stdout: string, stderr: string): Seen {
  const logged = stdout.split('\n').filter(line => line.startsWith('{')).map(line => JSON.parse(line) as LogLine)
  return { logged, stderr: stderr.split('\n').filter(line => line.includes('fastify-anonymous-telemetry')) }
}

/**
 * Runs `apps` on a clean environment plus `env` until every app is ready and `until` holds for what the process
 * wrote; then closes the apps and returns everything it wrote.
 */
export async function run (apps: NoticeApp[], env: NodeJS.ProcessEnv = {}, until: (seen: Seen) => boolean = () => true): Promise<Seen> {
  const clean: NodeJS.ProcessEnv = { ...process.env, DISABLE_TELEMETRY: '', DO_NOT_TRACK: '', TELEMETRY_DRY_RUN: '', ...env }
  const child = fork(join(__dirname, '..', 'fixtures', 'notice-app.ts'), [JSON.stringify(apps)], { env: clean, stdio: ['ignore', 'pipe', 'pipe', 'ipc'] })
  const exited = once(child, 'exit')
  let stdout = ''
  let stderr = ''
  let wake = (): void => {}
  child.stdout?.on('data', (chunk: Buffer) => { stdout += chunk.toString(); wake() })
  child.stderr?.on('data', (chunk: Buffer) => { stderr += chunk.toString(); wake() })
  const died = exited.then(([code]) => { throw new Error(`the fixture exited with ${String(code)} before ready: ${stderr}`) })
  await Promise.race([once(child, 'message'), died])
  died.catch(() => {})
  while (!until(parse(stdout, stderr))) await new Promise<void>(resolve => { wake = resolve })
  child.send('close')
  const [code] = await exited
  if (code !== 0) throw new Error(`the fixture exited with ${String(code)}: ${stderr}`)
  return parse(stdout, stderr)
}
