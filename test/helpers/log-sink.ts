/** One pino log line, parsed. */
export interface LogLine {
  level: number
  msg: string
  [key: string]: unknown
}

/** pino's numeric levels. */
export const LEVEL = { trace: 10, debug: 20, info: 30, warn: 40, error: 50, fatal: 60 } as const

/**
 * Where a test's Fastify logger writes (`Fastify({ logger: { level, stream: sink.stream } })`): keeps every raw
 * line, so tests can search bytes, and lets a test wait for a line instead of waiting on the clock.
 */
export class LogSink {
  readonly raw: string[] = []
  readonly lines: LogLine[] = []
  private readonly listeners = new Set<(line: LogLine) => void>()

  /** The destination pino writes to, one JSON line per call. */
  readonly stream = {
    write: (raw: string): void => {
      const line = JSON.parse(raw) as LogLine
      this.raw.push(raw)
      this.lines.push(line)
      for (const listener of this.listeners) listener(line)
    }
  }

  /** Calls `listener` with every line logged from now on, as it is logged. */
  onLine (listener: (line: LogLine) => void): void {
    this.listeners.add(listener)
  }

  /** Every byte logged, as one string. */
  get text (): string {
    return this.raw.join('')
  }

  /** Lines whose message contains `text`. */
  matching (text: string): LogLine[] {
    return this.lines.filter(line => line.msg?.includes(text))
  }

  /** Resolves once at least `count` lines contain `text`; woken by each new line, never polls. */
  async waitFor (text: string, count = 1): Promise<void> {
    if (this.matching(text).length >= count) return
    await new Promise<void>(resolve => {
      const wake = (): void => {
        if (this.matching(text).length < count) return
        this.listeners.delete(wake)
        resolve()
      }
      this.listeners.add(wake)
    })
  }
}
