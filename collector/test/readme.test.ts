import { readFileSync } from 'node:fs'
import { join } from 'node:path'
import { test } from 'tap'
import { main } from '../lib/cli'
import { memoryIo } from './helpers/io'

// The README's CLI reference and the CLI's own help describe the same commands and flags, both ways: whoever changes
// the CLI updates the reference (a table per command), and the reference never promises a flag the CLI lacks.

const BIN = 'fastify-anonymous-telemetry-collector'
/** A flag as the help and the reference spell it: `--db`, `-h`; not the hyphen inside `read-only` or `YYYY-MM-DD`. */
const FLAG = /(?<![\w-])(--?[a-z][a-z0-9-]*)/g

interface Reference { commands: Map<string, Set<string>>, global: Set<string> }

const flagsIn = (text: string): Set<string> => new Set([...text.matchAll(FLAG)].map(match => match[1]))

/**
 * Flags per command from help text: a command's part starts at a line that names `<bin> <command>` and runs to the
 * next such line; flags before the first one (the tool's own usage) are global.
 */
function fromHelp (help: string): Reference {
  const commands = new Map<string, Set<string>>()
  const global = new Set<string>()
  let current = global
  for (const line of help.split('\n')) {
    const command = new RegExp(`${BIN} ([a-z][a-z-]*)\\b`).exec(line)?.[1]
    if (command !== undefined) current = commands.get(command) ?? commands.set(command, new Set()).get(command) as Set<string>
    for (const flag of flagsIn(line)) current.add(flag)
  }
  return { commands, global }
}

/** Flags per command from the README's "CLI reference": a `### \`command\`` heading and a table whose rows start with a flag. */
function fromReadme (markdown: string): Reference {
  const section = /^## CLI reference\n([\s\S]*?)(?=^## )/m.exec(markdown)?.[1] ?? ''
  const [intro, ...parts] = section.split(/^### /m)
  const commands = new Map<string, Set<string>>()
  for (const part of parts) {
    const name = /^`([a-z][a-z-]*)`/.exec(part)?.[1] ?? `(a heading that is not a command: ${part.split('\n')[0]})`
    const flags = [...part.matchAll(/^\| `(--?[a-z][a-z0-9-]*)/gm)].map(match => match[1])
    commands.set(name, new Set(flags))
  }
  return { commands, global: flagsIn(intro) }
}

/** The tool's help, and each command's own `--help` where a command has one. */
async function helpText (): Promise<string> {
  const io = memoryIo()
  await main(['--help'], io)
  let text = io.output()
  for (const command of fromHelp(text).commands.keys()) {
    const own = memoryIo()
    if (await main([command, '--help'], own) === 0) text += `\n${own.output()}`
  }
  return text
}

const readme = readFileSync(join(__dirname, '..', 'README.md'), 'utf8')

test('help text and reference are read per command', async t => {
  const help = fromHelp(`Usage: ${BIN} <command> [options]\n  help  (also --help or -h)\nUsage: ${BIN} serve --data <dir>\n  --port <n>  read-only, YYYY-MM-DD\n  ${BIN} report --db <f>\n`)
  t.strictSame([...help.global], ['--help', '-h'])
  t.strictSame(Object.fromEntries([...help.commands].map(([name, flags]) => [name, [...flags]])), { serve: ['--data', '--port'], report: ['--db'] })
  const reference = fromReadme('## CLI reference\n\n`--help` or `-h`; exit codes\n\n### `serve`\n\n| Flag |\n| --- |\n| `--data <dir>` | x |\n\n## Next\n')
  t.strictSame([...reference.global], ['--help', '-h'])
  t.strictSame([...reference.commands.get('serve') ?? []], ['--data'])
})

test('the README documents every command of the CLI, and no other', async t => {
  const help = fromHelp(await helpText())
  const reference = fromReadme(readme)
  t.ok(help.commands.size >= 5, `${help.commands.size} commands in the help`)
  t.strictSame([...reference.commands.keys()].sort(), [...help.commands.keys()].sort(), 'the ### `command` headings of the CLI reference')
})

test('every flag of a command in the help is in its table of the README, and the reverse', async t => {
  const help = fromHelp(await helpText())
  const reference = fromReadme(readme)
  for (const [command, flags] of help.commands) {
    const documented = reference.commands.get(command) ?? new Set()
    for (const flag of flags) t.ok(documented.has(flag) || reference.global.has(flag), `${command} ${flag} is documented`)
    for (const flag of documented) t.ok(flags.has(flag) || help.global.has(flag), `${command} ${flag} (README) is in the help`)
  }
  for (const flag of help.global) t.ok(reference.global.has(flag), `${flag} (the tool's own) is documented above the commands`)
  for (const flag of reference.global) t.ok(help.global.has(flag) || [...help.commands.values()].some(flags => flags.has(flag)), `${flag} (README) is in the help`)
})
