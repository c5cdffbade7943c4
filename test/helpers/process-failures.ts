/**
 * Records every unhandled rejection and uncaught exception while a test runs, so that the test can assert there
 * were none: telemetry must never crash or destabilise the process it runs in, whatever the collector does.
 */
export function watchProcessFailures (t: { teardown: (fn: () => void) => void }): unknown[] {
  const failures: unknown[] = []
  const record = (error: unknown): void => { failures.push(error) }
  process.on('unhandledRejection', record)
  process.on('uncaughtException', record)
  t.teardown(() => {
    process.off('unhandledRejection', record)
    process.off('uncaughtException', record)
  })
  return failures
}

/**
 * Lets every callback already queued run (timers at 0, I/O callbacks, microtasks), so that a rejection caused by
 * what a test just did is reported before the test checks for it. Not a wait on the clock: nothing here depends
 * on how fast the machine is.
 */
export async function settle (): Promise<void> {
  for (let round = 0; round < 3; round++) await new Promise(resolve => setImmediate(resolve))
}
