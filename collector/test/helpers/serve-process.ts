import { spawn, type ChildProcess } from 'node:child_process'
import { once } from 'node:events'

export interface ServeProcess {
  child: ChildProcess
  /** Where it listens, as it printed it. */
  url: string
  /** All it printed on stdout so far. */
  output: () => string
  /** SIGTERM, then its exit code. */
  stop: () => Promise<number | null>
}

/** `<script> serve <argv>` as a child process, once it has printed where it listens and writes; a `.ts` script runs under the test's own loader. */
export async function spawnServe (script: string, argv: string[], env: NodeJS.ProcessEnv = process.env): Promise<ServeProcess> {
  const loader = script.endsWith('.ts') ? process.execArgv : []
  const child = spawn(process.execPath, [...loader, script, 'serve', ...argv], { env, stdio: ['ignore', 'pipe', 'inherit'] })
  const exited = once(child, 'exit')
  let output = ''
  child.stdout.setEncoding('utf8')
  await new Promise<void>(resolve => child.stdout.on('data', (chunk: string) => { output += chunk; if (output.includes('writing to')) resolve() }))
  const url = (/listening on (\S+)/.exec(output) as RegExpExecArray)[1]
  return {
    child,
    url,
    output: () => output,
    stop: async () => {
      child.kill('SIGTERM')
      return (await exited)[0]
    }
  }
}
