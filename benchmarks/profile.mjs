// Self time from a V8 .cpuprofile (node --cpu-prof): the time spent in each function's own code, callees excluded.
import { readFileSync } from 'node:fs'
import { fileURLToPath } from 'node:url'

const path = url => url.startsWith('file://') ? fileURLToPath(url) : url

/** Sending side: what the plugin loads at its first send. */
const SENDING = /node_modules[/\\](@segment|undici|jose|tslib)[/\\]/

/**
 * Where a sample's self time belongs: the plugin (files in `directory`), its sending side, Fastify and its
 * dependencies, the benchmark's own server, Node's internals, V8 (GC, builtins, the program itself).
 */
export function areaOf (functionName, file, directory) {
  if (file.startsWith(directory)) return 'plugin'
  if (SENDING.test(file)) return 'sending side'
  if (/node_modules/.test(file)) return 'fastify and its dependencies'
  if (file.startsWith('node:')) return 'node internals'
  if (file === '') return functionName === '(garbage collector)' ? 'garbage collector' : 'V8 (program, builtins)'
  return 'benchmark server'
}

/**
 * Self time of the profile in all (idle time excluded), of the garbage collector, and of the functions whose file is inside `directory`,
 * grouped by function (name, file relative to `directory`, line), largest first. All in milliseconds. Only samples
 * taken within `[from, to]` count (µs on the profiler's clock, which is process.hrtime's).
 */
export function selfTime (profileFile, directory, [from, to] = [-Infinity, Infinity]) {
  const { nodes, samples, timeDeltas, startTime, endTime } = JSON.parse(readFileSync(profileFile, 'utf8'))
  const byId = new Map(nodes.map(node => [node.id, node]))
  // timeDeltas[i] is the time from sample i − 1 to sample i: sample i lasts until the next one, the last until the end.
  const selfMicros = new Map()
  let clock = startTime
  for (let i = 0; i < samples.length; i++) {
    clock += timeDeltas[i]
    if (clock < from || clock > to) continue
    const duration = i + 1 < samples.length ? timeDeltas[i + 1] : endTime - clock
    selfMicros.set(samples[i], (selfMicros.get(samples[i]) ?? 0) + duration)
  }
  let totalMs = 0
  let garbageCollectorMs = 0
  const functions = new Map()
  const areas = {}
  for (const [id, micros] of selfMicros) {
    const { functionName, url, lineNumber } = byId.get(id).callFrame
    const ms = micros / 1000
    // The profiler samples an idle process too; that time is no one's cost.
    if (functionName === '(idle)') continue
    totalMs += ms
    if (functionName === '(garbage collector)') garbageCollectorMs += ms
    const file = path(url)
    const area = areaOf(functionName, file, directory)
    areas[area] = (areas[area] ?? 0) + ms
    if (!file.startsWith(directory)) continue
    const key = `${functionName}\0${file}\0${lineNumber}`
    const entry = functions.get(key) ?? { function: functionName || '(anonymous)', file: file.slice(directory.length), line: lineNumber + 1, selfMs: 0 }
    entry.selfMs += ms
    functions.set(key, entry)
  }
  const inside = [...functions.values()].sort((a, b) => b.selfMs - a.selfMs)
  return { totalMs, garbageCollectorMs, insideMs: inside.reduce((sum, entry) => sum + entry.selfMs, 0), functions: inside, areas }
}
