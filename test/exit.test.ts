import { fork } from 'node:child_process'
import { once } from 'node:events'
import { join } from 'node:path'
import { performance } from 'node:perf_hooks'
import { test } from 'tap'
import { Collector, type Fault } from './helpers/collector'

const APP = join(__dirname, 'fixtures', 'exit-app.js')
// The child's request timeout is 10 s, a hanging collector never answers, a 429 asks for an hour: an exit this
// soon can only mean that nothing of telemetry held the process.
const EXIT_BOUND_MS = 5000

/** Starts the fixture app in a child process (built package, no coverage: it is not lib/) reporting to `collector`. */
function startApp (collector: Collector, mode = 'exit'): ReturnType<typeof fork> {
  return fork(APP, [collector.url, mode], {
    env: { ...process.env, DISABLE_TELEMETRY: '', DO_NOT_TRACK: '', TELEMETRY_DRY_RUN: '', _TAPJS_PROCESSINFO_COVERAGE_: '0' },
    stdio: ['ignore', 'inherit', 'inherit', 'ipc']
  })
}

const FAULTS: Array<[Fault, string]> = [
  ['ok', 'answers at once'],
  ['hang', 'never answers'],
  ['429', 'answers 429 with Retry-After: 3600'],
  ['500', 'answers 500']
]

for (const [fault, behaviour] of FAULTS) {
  test(`telemetry never keeps the process alive while the collector ${behaviour}`, async t => {
    const collector = await Collector.start()
    t.teardown(() => collector.close())
    collector.fault = fault
    const child = startApp(collector)
    const exited = once(child, 'exit')
    await once(child, 'message')
    await collector.waitForRequests(1)
    const started = performance.now()
    child.disconnect()
    const [code] = await exited
    const elapsed = performance.now() - started
    t.equal(code, 0)
    t.ok(elapsed < EXIT_BOUND_MS, `exited ${Math.round(elapsed)} ms after its last other handle was gone`)
  })
}

test('`await app.close()` as the last thing a process does still delivers the final report', async t => {
  const collector = await Collector.start()
  t.teardown(() => collector.close())
  const child = startApp(collector, 'close')
  const exited = once(child, 'exit')
  await once(child, 'message')
  const reportsBefore = (await collector.waitForEvents('telemetry')).length
  child.disconnect()
  const [code] = await exited
  t.equal(code, 0)
  t.ok(collector.named('telemetry').length > reportsBefore, 'a report arrived after close began')
})
