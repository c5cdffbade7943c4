import { FST_TELEMETRY_COLLECTOR_USAGE } from './errors'
import { inWords } from './failure'
import { progress, type Progress, type ProgressStream } from './progress'

// Every command is declared once, as a table: its flags (value, type, required, help) and positionals. Parsing, the
// usage errors, `<command> --help` and the tool's help are all derived from it, so adding a flag is one entry.

export const BIN = 'fastify-anonymous-telemetry-collector'

export interface Io {
  out: { write(text: string): unknown }
  /** Errors and progress. */
  err: ProgressStream
  env: NodeJS.ProcessEnv
  /** Resolves when the process is asked to stop (SIGINT or SIGTERM). */
  stopped: Promise<string>
  /** Progress's clock and timer; tests pass their own. */
  progress?: Pick<Parameters<typeof progress>[0], 'now' | 'every' | 'schedule'>
}

/** What a flag's text must be, in words, and its value (undefined when the text is not one). */
export interface Kind<T = unknown> {
  expected: string
  parse(text: string): T | undefined
}

export interface Flag {
  /** The value's placeholder (`<dir>`); a flag without one is a switch, true when given. */
  value?: string
  help: string
  /** Checked when given; default: any text that is not empty. */
  kind?: Kind
  required?: boolean
  /** Repeatable: the values are an array. */
  multiple?: boolean
  /** Shown in the help. */
  default?: string
}

export interface Command {
  /** One line, for the tool's list of commands. */
  summary: string
  /** More about the command, for its `--help`. */
  description?: string
  positionals?: { name: string, help: string, min: number }
  flags: Record<string, Flag>
  run(args: Args, io: Io): Promise<number | undefined>
}

export interface Args {
  values: Record<string, unknown>
  positionals: string[]
  /** The command's progress (nothing with `--quiet`). */
  progress: Progress
}

export const text: Kind<string> = { expected: 'a value', parse: value => value === '' ? undefined : value }

export function integer (min: number, max = Number.MAX_SAFE_INTEGER): Kind<number> {
  return {
    expected: max === Number.MAX_SAFE_INTEGER ? `an integer ≥ ${min}` : `an integer from ${min} to ${max}`,
    parse: value => /^\d+$/.test(value) && Number(value) >= min && Number(value) <= max ? Number(value) : undefined
  }
}

export function oneOf (choices: readonly string[]): Kind<string> {
  return { expected: `one of ${choices.join(', ')}`, parse: value => choices.includes(value) ? value : undefined }
}

export function matching (pattern: RegExp, expected: string): Kind<string> {
  return { expected, parse: value => pattern.test(value) ? value : undefined }
}

/** `--quiet`, for every command that shows progress. */
export const QUIET: Flag = { help: 'no progress lines' }

/** The flags every command takes. */
const HELP: Record<string, Flag> = { help: { help: 'this text (also -h)' } }

export function usageError (message: string): Error {
  return new FST_TELEMETRY_COLLECTOR_USAGE(message)
}

/** Edit distance counting a swap of two neighbours as one edit (`--prot` is one from `--port`), for "did you mean". */
function distance (a: string, b: string): number {
  const d = Array.from({ length: a.length + 1 }, (_, i) => Array.from({ length: b.length + 1 }, (_, j) => i + j))
  for (let i = 1; i <= a.length; i++) {
    for (let j = 1; j <= b.length; j++) {
      d[i][j] = Math.min(d[i - 1][j] + 1, d[i][j - 1] + 1, d[i - 1][j - 1] + (a[i - 1] === b[j - 1] ? 0 : 1))
      if (i > 1 && j > 1 && a[i - 1] === b[j - 2] && a[i - 2] === b[j - 1]) d[i][j] = Math.min(d[i][j], d[i - 2][j - 2] + 1)
    }
  }
  return d[a.length][b.length]
}

/** `; did you mean x?` when one of `known` is close to `given` (within a third of its length), else ''. */
export function didYouMean (given: string, known: string[], prefix = ''): string {
  const [best] = known.map(name => ({ name, d: distance(given, name) })).sort((a, b) => a.d - b.d)
  return best !== undefined && best.d <= Math.max(1, Math.floor(given.length / 3)) ? `; did you mean ${prefix}${best.name}?` : ''
}

/** The command line as values (the flag's name without `--`), positionals, or `help` when asked for. */
export function parse (name: string, command: Command, argv: string[]): { help: true } | { help: false, values: Record<string, unknown>, positionals: string[] } {
  const { flags } = command
  const values: Record<string, unknown> = {}
  const positionals: string[] = []
  // Help wins wherever it is, even after a wrong flag: whoever asks for it is finding out what is right.
  const end = argv.indexOf('--')
  if (argv.slice(0, end === -1 ? argv.length : end).some(arg => arg === '--help' || arg === '-h')) return { help: true }
  for (let i = 0; i < argv.length; i++) {
    const arg = argv[i]
    if (arg === '--') {
      positionals.push(...argv.slice(i + 1))
      break
    }
    if (!arg.startsWith('-') || arg === '-') {
      positionals.push(arg)
      continue
    }
    const [, flagName, inline] = /^--?([^=]*)(?:=(.*))?$/s.exec(arg) as RegExpExecArray
    const flag = flags[flagName]
    if (flag === undefined || !arg.startsWith('--')) throw usageError(`unknown flag ${arg.split('=')[0]}${didYouMean(flagName, Object.keys(flags), '--')}`)
    let value: unknown = true
    if (flag.value === undefined) {
      if (inline !== undefined) throw usageError(`--${flagName} takes no value; received "${inline}"`)
    } else {
      const raw = inline ?? argv[i + 1]
      if (raw === undefined || (inline === undefined && raw.startsWith('--'))) throw usageError(`--${flagName} needs a value: ${flag.value}`)
      if (inline === undefined) i++
      const kind = flag.kind ?? text
      value = kind.parse(raw)
      if (value === undefined) throw usageError(`--${flagName} must be ${kind.expected}; received ${JSON.stringify(raw)}`)
    }
    if (flag.multiple === true) values[flagName] = [...(values[flagName] as unknown[] | undefined ?? []), value]
    else if (flagName in values) throw usageError(`--${flagName} was given twice`)
    else values[flagName] = value
  }
  for (const [flagName, flag] of Object.entries(flags)) {
    if (flag.required === true && !(flagName in values)) throw usageError(`--${flagName} is required: ${flag.value as string}`)
  }
  const { positionals: wanted } = command
  if (wanted === undefined && positionals.length > 0) throw usageError(`unexpected argument ${JSON.stringify(positionals[0])} (${name} takes flags only)`)
  if (wanted !== undefined && positionals.length < wanted.min) throw usageError(`${wanted.name} is required: ${wanted.help}`)
  return { help: false, values, positionals }
}

/** `<bin> <name> <required flags> [flags]`: the first line of the command's help, and its entry in the tool's. */
export function synopsis (name: string, command: Command): string {
  const required = Object.entries(command.flags).filter(([, flag]) => flag.required === true).map(([flagName, flag]) => `--${flagName} ${flag.value as string}`)
  const positionals = command.positionals === undefined ? [] : [command.positionals.name]
  return [BIN, name, ...positionals, ...required, '[flags]'].join(' ')
}

export const EXIT_CODES = 'Exit codes: 0 done; 1 the work failed (the message names the path or database and why); 2 a usage error (the message names the flag).'

/** A command's `--help`: synopsis, description, one line per flag. */
export function help (name: string, command: Command): string {
  const rows: Array<[string, string]> = []
  if (command.positionals !== undefined) rows.push([command.positionals.name, command.positionals.help])
  for (const [flagName, flag] of Object.entries({ ...command.flags, ...HELP })) {
    const notes = [flag.required === true ? 'required' : '', flag.multiple === true ? 'repeatable' : '', flag.default === undefined ? '' : `default ${flag.default}`].filter(note => note !== '')
    rows.push([`--${flagName}${flag.value === undefined ? '' : ` ${flag.value}`}`, `${flag.help}${notes.length === 0 ? '' : ` (${notes.join('; ')})`}`])
  }
  const width = Math.max(...rows.map(([left]) => left.length)) + 2
  return [
    `Usage: ${synopsis(name, command)}`,
    '',
    command.description ?? command.summary,
    '',
    ...rows.map(([left, right]) => `  ${left.padEnd(width)}${right}`),
    '',
    EXIT_CODES,
    ''
  ].join('\n')
}

/** Runs one command of the table: 0, 1 (the work failed) or 2 (a usage error), each failure on one line of stderr. */
export async function runCommand (name: string, command: Command, argv: string[], io: Io): Promise<number> {
  const prefix = `${BIN} ${name}`
  try {
    const parsed = parse(name, command, argv)
    if (parsed.help) {
      io.out.write(help(name, command))
      return 0
    }
    const steps = progress({ stream: io.err, quiet: parsed.values.quiet === true, ...io.progress })
    return await command.run({ values: parsed.values, positionals: parsed.positionals, progress: steps }, io) ?? 0
  } catch (error) {
    if ((error as { code?: string }).code === 'FST_TELEMETRY_COLLECTOR_USAGE') {
      io.err.write(`${prefix}: ${(error as Error).message}\nsee \`${prefix} --help\`\n`)
      return 2
    }
    io.err.write(`${prefix}: ${inWords(error)}\n`)
    return 1
  }
}
