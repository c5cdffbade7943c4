#!/usr/bin/env node
import { runAnalysisCommand, USAGE as ANALYSIS_USAGE } from './analysis/cli'
import { SERVE_USAGE, serveConfig, startServer } from './serve'

export const USAGE = `Usage: fastify-anonymous-telemetry-collector <command> [options]

Commands:
  serve     receive events (Segment's HTTP API) and store them in Segment's S3 layout
  ingest, report, export, simulate   fleet analysis with DuckDB (see below)
  forget, prune                      delete an installation's data; delete old stored files (see below)
  help      this text (also --help or -h)

${SERVE_USAGE}
${ANALYSIS_USAGE}`

export interface Io {
  out: NodeJS.WritableStream
  err: NodeJS.WritableStream
  env: NodeJS.ProcessEnv
  /** Resolves when the process is asked to stop (SIGINT or SIGTERM). */
  stopped: Promise<string>
}

/** Resolves with the name of the first SIGINT or SIGTERM; the listeners replace Node's default exit. */
export function signals (): Promise<string> {
  return new Promise(resolve => {
    const onInt = (): void => stop('SIGINT')
    const onTerm = (): void => stop('SIGTERM')
    function stop (signal: string): void {
      process.off('SIGINT', onInt)
      process.off('SIGTERM', onTerm)
      resolve(signal)
    }
    process.on('SIGINT', onInt)
    process.on('SIGTERM', onTerm)
  })
}

async function serve (argv: string[], io: Io): Promise<number> {
  let config
  try {
    config = serveConfig(argv, io.env)
  } catch (error) {
    io.err.write(`${(error as Error).message}\n\n${SERVE_USAGE}`)
    return 2
  }
  const running = await startServer(config, io.out)
  io.out.write(`fastify-anonymous-telemetry-collector listening on ${running.url}\nwriting to ${running.writesTo}\n`)
  const signal = await io.stopped
  io.out.write(`${signal}: closing (requests in flight are answered, files synced and closed)\n`)
  await running.close()
  io.out.write('stopped\n')
  return 0
}

const ANALYSIS_COMMANDS = new Set(['ingest', 'report', 'export', 'simulate', 'forget', 'prune'])

/** The bin: one subcommand per word; an unknown one is an error naming it (exit code 2). */
export async function main (argv: string[], io: Io): Promise<number> {
  const [command, ...rest] = argv
  if (command === 'serve') return await serve(rest, io)
  if (ANALYSIS_COMMANDS.has(command)) return await runAnalysisCommand(command, rest, io)
  if (command === 'help' || command === '--help' || command === '-h') {
    io.out.write(USAGE)
    return 0
  }
  io.err.write(`${command === undefined ? 'a command is required' : `unknown command "${command}"`}\n\n${USAGE}`)
  return 2
}

/* c8 ignore start -- the process entry point; test/cli.test.ts runs it as a child process, whose coverage is not merged */
if (require.main === module) {
  main(process.argv.slice(2), { out: process.stdout, err: process.stderr, env: process.env, stopped: signals() })
    .then(code => { process.exitCode = code }, error => {
      process.stderr.write(`${(error as Error).message}\n`)
      process.exitCode = 1
    })
}
/* c8 ignore stop */
