export interface ProgressStream {
  write(text: string): unknown
  /** A terminal gets one line rewritten in place; a file or a pipe (cron, journald) gets a line now and then. */
  isTTY?: boolean
}

export interface ProgressOptions {
  stream: ProgressStream
  /** `--quiet`: nothing at all. */
  quiet?: boolean
  /** Milliseconds; tests move it. */
  now?: () => number
  /** Off a terminal, the least time between two lines of a step (default 5 s). */
  every?: number
  /**
   * Calls `tick` every `ms` until the returned function is called, so that a step whose work says nothing for a while
   * (one long SQL statement) still shows its time. The default timer is unref'd: progress never keeps a process alive.
   */
  schedule?: (tick: () => void, ms: number) => () => void
}

/** One stage of a command: `update` as it goes (as often as convenient), `done` once with the result. */
export interface Step {
  update(text: string): void
  done(text: string): void
}

export type Progress = (name: string) => Step

const TERMINAL_EVERY = 1000
const QUIET: Step = { update () {}, done () {} }

function unrefInterval (tick: () => void, ms: number): () => void {
  const timer = setInterval(tick, ms)
  timer.unref()
  return () => clearInterval(timer)
}

/**
 * Progress lines on `stream` (stderr), each `<step>: <text> (<seconds> s)`: on a terminal one line updated in place
 * (`\r`), elsewhere a line at most every `every` ms, and each step's `done` line in both.
 */
export function progress ({ stream, quiet = false, now = Date.now, every = 5000, schedule = unrefInterval }: ProgressOptions): Progress {
  if (quiet) return () => QUIET
  const tty = stream.isTTY === true
  const gap = tty ? TERMINAL_EVERY : every
  return name => {
    const started = now()
    let shown = started
    let text = ''
    const line = (): string => `${name}${text === '' ? '' : `: ${text}`} (${Math.round((now() - started) / 1000)} s)`
    const show = (force: boolean): void => {
      if (!force && now() - shown < gap) return
      shown = now()
      stream.write(tty ? `\r${line()}\x1b[K` : `${line()}\n`)
    }
    const stop = schedule(() => show(false), gap)
    return {
      update (next) {
        text = next
        show(false)
      },
      done (result) {
        stop()
        text = result
        stream.write(tty ? `\r${line()}\x1b[K\n` : `${line()}\n`)
      }
    }
  }
}
