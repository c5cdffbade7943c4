import { PassThrough } from 'node:stream'
import type { Io } from '../../lib/cli'

/** In-memory stdout/stderr for `main`, and a stop the test triggers instead of a signal. */
export function memoryIo (env: NodeJS.ProcessEnv = {}): Io & { output: () => string, errors: () => string, stop: (signal: string) => void } {
  const out = new PassThrough()
  const err = new PassThrough()
  const chunks = { out: [] as Buffer[], err: [] as Buffer[] }
  out.on('data', chunk => chunks.out.push(chunk))
  err.on('data', chunk => chunks.err.push(chunk))
  let stop: (signal: string) => void = () => {}
  const stopped = new Promise<string>(resolve => { stop = resolve })
  return {
    out,
    err,
    env,
    stopped,
    stop,
    output: () => Buffer.concat(chunks.out).toString(),
    errors: () => Buffer.concat(chunks.err).toString()
  }
}
