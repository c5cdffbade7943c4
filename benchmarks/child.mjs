// Child processes for the benchmarks: each server and the collector runs in a process of its own, optionally
// pinned to one CPU, and talks to the parent over IPC.
import { execFileSync, spawn } from 'node:child_process'
import { once } from 'node:events'

function hasTaskset () {
  try {
    execFileSync('taskset', ['-p', String(process.pid)], { stdio: 'ignore' })
    return true
  } catch {
    return false
  }
}

export const TASKSET = process.platform === 'linux' && hasTaskset()

/** Pins every thread of this process (autocannon runs in it) to `cpu`; a no-op without taskset. */
export function pinSelf (cpu) {
  if (TASKSET) execFileSync('taskset', ['-a', '-cp', String(cpu), String(process.pid)], { stdio: 'ignore' })
}

/**
 * Starts `node [execArgv] file [args]` with an IPC channel, on CPU `cpu` when taskset exists (`cpu` null: anywhere),
 * and resolves with the child and its first message, which every child sends once it is ready.
 */
export async function startChild (file, args = [], { cpu = null, execArgv = [] } = {}) {
  const command = [process.execPath, ...execArgv, file, ...args]
  if (TASKSET && cpu !== null) command.unshift('taskset', '-c', String(cpu))
  const child = spawn(command[0], command.slice(1), { stdio: ['ignore', 'inherit', 'inherit', 'ipc'] })
  const exited = once(child, 'exit').then(([code]) => { throw new Error(`${file} ${args.join(' ')} exited early (${code})`) })
  const [ready] = await Promise.race([once(child, 'message'), exited])
  return { child, ready }
}

/** Sends `message` and resolves with the child's next message. */
export async function ask (child, message) {
  const answer = once(child, 'message')
  child.send(message)
  const [reply] = await answer
  return reply
}

/** Hangs up, which every child takes as the order to exit, and waits until it has. */
export async function stopChild (child) {
  const exited = once(child, 'exit')
  child.disconnect()
  await exited
}
