// The Markdown tables of the benchmarks, ready to paste into the READMEs. The benchmarks print them as they finish;
// run this file to print them again from the saved results:
//   node benchmarks/markdown.mjs       (reads benchmarks/results/import.json and overhead.json)
import { existsSync, readFileSync } from 'node:fs'
import { fileURLToPath, pathToFileURL } from 'node:url'

const MB = 1024 * 1024
const fixed = (value, digits) => value.toFixed(digits)
const interval = ({ median, low, high }, digits) => `${fixed(median, digits)} [${fixed(low, digits)}, ${fixed(high, digits)}]`
const megabytes = ({ median, low, high }) => interval({ median: median / MB, low: low / MB, high: high / MB }, 3)
const met = goal => goal.met ? 'met' : '**not met**'

/** Where and how a result was measured, for the line above its table. */
function provenance (output) {
  const load = output.loadAverage
  return `\`${output.command}\`, ${output.date.slice(0, 16).replace('T', ' ')} UTC, ${output.seconds} s, ` +
    `Node ${output.machine.node}, Fastify ${output.machine.fastify}, ${output.machine.nproc} CPUs, ` +
    `load average ${fixed(load.before[0], 2)} before, ${fixed(load.after[0], 2)} after`
}

export function overheadTable (output) {
  const { settings, summary, goals } = output
  const lines = [
    provenance(output),
    `${settings.rounds} rounds × ${settings.requests} requests per variant after ${settings.warmup} of warm-up; ` +
      `ratio: median of the per-round ratios to bare, [95 % bootstrap interval] (${settings.bootstrap.resamples} resamples, seed ${settings.bootstrap.seed}).`,
    '',
    '| variant | CPU µs/request (median) | ratio to bare: median [95 % interval] | goal | req/s (median) | p99 ms (median) |',
    '|---|---:|---:|---|---:|---:|'
  ]
  for (const [variant, s] of Object.entries(summary)) {
    const ratio = s.ratioToBare === null ? '–' : interval(s.ratioToBare, 3)
    const goal = variant in goals ? `${met(goals[variant])}: ${goals[variant].goal}` : '–'
    lines.push(`| ${variant} | ${fixed(s.cpuMicrosPerRequest.median, 2)} | ${ratio} | ${goal} | ${Math.round(s.reqPerSec.median)} | ${s.p99Ms.median} |`)
  }
  const paired = goals['telemetry-on']?.ratioToEmptyHooks
  if (paired !== undefined) lines.push('', `telemetry-on / empty-hooks, paired by round: ${interval(paired, 3)}.`)
  const pairedAbort = goals['telemetry-on']?.ratioToEmptyHooksAbort
  if (pairedAbort !== undefined) lines.push('', `telemetry-on / empty-hooks-abort, paired by round: ${interval(pairedAbort, 3)}.`)
  return lines.join('\n')
}

export function profileTable (profile, top = 10) {
  const lines = [
    `CPU profile of ${profile.variant} (\`${profile.file}\`), cut to the measurement window of ${profile.requests} requests: ` +
      `self time of the plugin's own functions (files in dist/) **${fixed(profile.pluginSelfMs, 1)} ms = ` +
      `${fixed(profile.pluginMicrosPerRequest, 3)} µs/request**, of ${fixed(profile.cpuMicrosPerRequest, 2)} µs/request in all; ` +
      `window's profile ${fixed(profile.profileMs, 0)} ms, of which garbage collector ${fixed(profile.garbageCollectorMs, 0)} ms.`,
    '',
    '| function | file:line | self ms | µs/request |',
    '|---|---|---:|---:|'
  ]
  for (const entry of profile.functions.slice(0, top)) {
    lines.push(`| \`${entry.function}\` | ${entry.file}:${entry.line} | ${fixed(entry.selfMs, 1)} | ${fixed(entry.microsPerRequest, 3)} |`)
  }
  if (profile.functions.length > top) lines.push(`| ${profile.functions.length - top} more | | ${fixed(profile.functions.slice(top).reduce((sum, entry) => sum + entry.selfMs, 0), 1)} | |`)
  return lines.join('\n')
}

/** Self time per request by area, one column per profiled variant, and the difference of the last two. */
export function areaTable (profiles) {
  const areas = [...new Set(profiles.flatMap(profile => Object.keys(profile.areaMicrosPerRequest ?? {})))].sort()
  if (areas.length === 0) return ''
  const pair = profiles.length >= 2 ? profiles.slice(-2) : null
  const lines = [
    'Self time per request by area (µs), from the profiles above' + (pair === null ? '.' : `; last column: ${pair[1].variant} − ${pair[0].variant}.`),
    '',
    `| area | ${profiles.map(profile => profile.variant).join(' | ')}${pair === null ? '' : ' | difference'} |`,
    `|---|${profiles.map(() => '---:|').join('')}${pair === null ? '' : '---:|'}`
  ]
  const row = (label, value) => {
    const values = profiles.map(value)
    lines.push(`| ${label} | ${values.map(v => fixed(v, 3)).join(' | ')}${pair === null ? '' : ` | ${fixed(values.at(-1) - values.at(-2), 3)}`} |`)
  }
  for (const area of areas) row(area, profile => profile.areaMicrosPerRequest?.[area] ?? 0)
  row('**all**', profile => Object.values(profile.areaMicrosPerRequest ?? {}).reduce((a, b) => a + b, 0))
  return lines.join('\n')
}

export function importTable (output) {
  const lines = [
    provenance(output),
    `${output.settings.processes} fresh processes per variant; Fastify alone takes ${interval(output.fastifyImportMs, 1)} ms to import. ` +
      'Median [95 % bootstrap interval]; heap after gc(), minus the same figure of bare.',
    '',
    '| variant | import ms (wall) | import CPU ms | heap added by import, MB | heap added by register + ready, MB | packages loaded by import |',
    '|---|---:|---:|---:|---:|---|'
  ]
  for (const [kind, s] of Object.entries(output.summary)) {
    const packages = s.importedPackages.length === 0 ? '–' : s.importedPackages.join(', ')
    lines.push(`| ${kind} | ${interval(s.importMs, 1)} | ${fixed(s.importCpuMs.median, 1)} | ${megabytes(s.heapImport)} | ` +
      `${megabytes(s.heapRegister)} | ${packages} (${s.importedFiles} files) |`)
  }
  lines.push('', '| goal | telemetry-imported | telemetry-required | telemetry-off | telemetry-on |', '|---|---|---|---|---|')
  const telemetry = ['telemetry-imported', 'telemetry-required', 'telemetry-off', 'telemetry-on']
  for (const [name, label] of [['importMs', 'import'], ['heapImport', 'heap added by import'], ['sendingSideNotLoaded', 'after ready']]) {
    const cells = telemetry.map(kind => output.summary[kind]?.goals[name])
    const goal = cells.find(cell => cell !== undefined)?.goal ?? ''
    lines.push(`| ${label}: ${goal} | ${cells.map(cell => cell === undefined ? '–' : met(cell) + (cell.loaded?.length ? ` (${cell.loaded.join(', ')})` : '')).join(' | ')} |`)
  }
  return lines.join('\n')
}

/** One row per variant: the CPU figures beside the load-time ones, for the README's Performance section. */
export function summaryTable (overhead, imports) {
  const lines = [
    '| variant | CPU µs/request | ratio to bare [95 % interval] | import ms | heap added by import, MB | heap added by register + ready, MB |',
    '|---|---:|---:|---:|---:|---:|'
  ]
  for (const [variant, s] of Object.entries(overhead.summary)) {
    const load = imports.summary[variant]
    lines.push(`| ${variant} | ${fixed(s.cpuMicrosPerRequest.median, 2)} | ${s.ratioToBare === null ? '–' : interval(s.ratioToBare, 3)} | ` +
      (load === undefined ? '– | – | – |' : `${fixed(load.importMs.median, 1)} | ${fixed(load.heapImport.median / MB, 3)} | ${fixed(load.heapRegister.median / MB, 3)} |`))
  }
  const profile = overhead.profiles.find(entry => entry.variant === 'telemetry-on')
  if (profile !== undefined) lines.push('', `Plugin's own functions, telemetry on (CPU profile): **${fixed(profile.pluginMicrosPerRequest, 3)} µs/request**.`)
  return lines.join('\n')
}

if (import.meta.url === pathToFileURL(process.argv[1]).href) {
  const read = name => {
    const file = fileURLToPath(new URL(`results/${name}.json`, import.meta.url))
    return existsSync(file) ? JSON.parse(readFileSync(file, 'utf8')) : null
  }
  const imports = read('import')
  const overhead = read('overhead')
  const sections = []
  if (overhead !== null && imports !== null) sections.push('### Summary (README Performance section)', summaryTable(overhead, imports))
  if (imports !== null) sections.push('### Import cost', importTable(imports))
  if (overhead !== null) sections.push('### CPU overhead', overheadTable(overhead), ...overhead.profiles.map(entry => profileTable(entry)), areaTable(overhead.profiles))
  console.log(sections.join('\n\n'))
}
