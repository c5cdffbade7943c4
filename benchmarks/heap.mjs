// The heap in use after full garbage collection; the process must run with --expose-gc.
import { setImmediate as tick } from 'node:timers/promises'

export async function heapUsed () {
  // Weak references and finalizers need a turn of the event loop between collections.
  for (let i = 0; i < 4; i++) {
    global.gc()
    await tick()
  }
  return process.memoryUsage().heapUsed
}
