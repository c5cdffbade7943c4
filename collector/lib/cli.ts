#!/usr/bin/env node
import { readFileSync } from 'node:fs'
import { join } from 'node:path'
import { ANALYSIS_COMMANDS } from './analysis/cli'
import { BIN, type Command, didYouMean, EXIT_CODES, type Io, runCommand, synopsis } from './command-line'
import { SERVE } from './serve'

export type { Io } from './command-line'

/** Every command of the tool; a new one is one entry here (or in ANALYSIS_COMMANDS). */
export const COMMANDS: Record<string, Command> = { serve: SERVE, ...ANALYSIS_COMMANDS }

/** The tool's help: every command's synopsis and summary; each command's flags are in its own `--help`. */
export function usage (): string {
  return [
    `Usage: ${BIN} <command> [flags]`,
    `       ${BIN} --version | --help | -h`,
    '',
    'Commands:',
    ...Object.entries(COMMANDS).flatMap(([name, command]) => [`  ${synopsis(name, command)}`, `      ${command.summary}`]),
    '  help      this text (also --help or -h)',
    '',
    `Each command's flags: ${BIN} <command> --help. --version prints the version.`,
    EXIT_CODES,
    ''
  ].join('\n')
}

function version (): string {
  return (JSON.parse(readFileSync(join(__dirname, '..', 'package.json'), 'utf8')) as { version: string }).version
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

/** The bin: one command per word, run from its table entry; 0 done, 1 the work failed, 2 a usage error. */
export async function main (argv: string[], io: Io): Promise<number> {
  const [name, ...rest] = argv
  if (name === 'help' || name === '--help' || name === '-h') {
    io.out.write(usage())
    return 0
  }
  if (name === '--version') {
    io.out.write(`${version()}\n`)
    return 0
  }
  const command = Object.hasOwn(COMMANDS, name ?? '') ? COMMANDS[name] : undefined
  if (command !== undefined) return await runCommand(name, command, rest, io)
  const problem = name === undefined ? 'a command is required' : `unknown command "${name}"${didYouMean(name, Object.keys(COMMANDS))}`
  io.err.write(`${BIN}: ${problem}\nsee \`${BIN} --help\`\n`)
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
