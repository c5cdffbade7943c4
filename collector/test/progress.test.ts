import { test } from 'tap'
import { progress, type ProgressOptions } from '../lib/progress'

/** A stream that keeps what is written, a clock the test moves and the timer's tick, which the test fires. */
function harness (options: Partial<ProgressOptions> = {}): { written: string[], at: (ms: number) => void, tick: () => void, stopped: () => number, start: typeof progress extends (...args: never[]) => infer P ? P : never } {
  const written: string[] = []
  let now = 0
  let tick = (): void => {}
  let stops = 0
  const start = progress({
    stream: { write: (text: string) => written.push(text) },
    now: () => now,
    schedule: (fn, ms) => {
      tick = fn
      written.push(`[timer every ${ms} ms]`)
      return () => { stops++ }
    },
    ...options
  })
  return { written, at: ms => { now = ms }, tick: () => tick(), stopped: () => stops, start }
}

test('off a terminal: a line at most every 5 s, from updates or the timer, and the done line', async t => {
  const h = harness()
  const step = h.start('ingest: reading')
  step.update('1/9 files')
  h.at(4999)
  step.update('2/9 files')
  h.at(5000)
  step.update('3/9 files')
  h.at(7000)
  h.tick()
  h.at(10_400)
  h.tick()
  h.at(11_000)
  step.done('9/9 files')
  t.strictSame(h.written, [
    '[timer every 5000 ms]',
    'ingest: reading: 3/9 files (5 s)\n',
    'ingest: reading: 3/9 files (10 s)\n',
    'ingest: reading: 9/9 files (11 s)\n'
  ])
  t.equal(h.stopped(), 1, 'done stops the timer')
})

test('a step with nothing to say yet shows its name and time', async t => {
  const h = harness({ every: 1000 })
  const step = h.start('ingest: updating the derived tables')
  h.at(1000)
  h.tick()
  t.strictSame(h.written, ['[timer every 1000 ms]', 'ingest: updating the derived tables (1 s)\n'])
  step.done('4.2 s')
})

test('on a terminal: one line rewritten in place at most every second, ended by the done line', async t => {
  const h = harness({ stream: { isTTY: true, write: (text: string) => h.written.push(text) } })
  const step = h.start('simulate')
  step.update('day 1 of 3')
  h.at(1000)
  step.update('day 2 of 3')
  h.at(2500)
  h.tick()
  step.done('3 days')
  t.strictSame(h.written, [
    '[timer every 1000 ms]',
    '\rsimulate: day 2 of 3 (1 s)\x1b[K',
    '\rsimulate: day 2 of 3 (3 s)\x1b[K',
    '\rsimulate: 3 days (3 s)\x1b[K\n'
  ])
})

test('--quiet: nothing written and no timer started', async t => {
  const h = harness({ quiet: true })
  const step = h.start('simulate')
  h.at(60_000)
  step.update('day 1 of 3')
  step.done('3 days')
  t.strictSame(h.written, [])
})

test('the default timer is unref\'d: a step left running never keeps the process alive', async t => {
  const timers = (): number => process.getActiveResourcesInfo().filter(name => name === 'Timeout').length
  const before = timers()
  const written: string[] = []
  const step = progress({ stream: { write: (text: string) => written.push(text) } })('waiting')
  t.equal(timers(), before, 'no timer that holds the process')
  step.done('over')
  t.match(written, [/^waiting: over \(\d+ s\)\n$/])
})
