import type { FastifyBaseLogger } from 'fastify'
import type { ResolvedOptions } from './options'

/** Where operators read what is sent: the package's own page, which links every field of every event. */
export const WHAT_IS_SENT_URL = 'https://www.npmjs.com/package/fastify-anonymous-telemetry#what-is-sent'

/** Levels at which a logger shows an `info` line; any other string is a real logger set above `info`. */
const SHOWS_INFO = new Set(['trace', 'debug', 'info'])

/**
 * Lines an operator must see whatever logger the app has: the notice that telemetry is on, dry-run events, the
 * first delivery failure of each kind. A real logger gets them as structured lines (so JSON pipelines stay intact);
 * Fastify's null logger (`logger: false`, or none, as NestJS's default adapter has: `level` is `undefined`) and a
 * `silent` one would swallow them, so there they are one plain line on standard error. The level is read at each
 * line: an app may change it at run time.
 */
export interface OperatorLog {
  /** At `info` when the logger shows `info`, else at `warn`, else on standard error. */
  notice (fields: object, message: string, plain?: string): void
  /** At `warn`, else on standard error. */
  warn (fields: object, message: string, plain?: string): void
}

export function operatorLog (log: FastifyBaseLogger): OperatorLog {
  const write = (level: 'info' | 'warn', fields: object, message: string, plain = message): void => {
    const current: unknown = log.level
    if (typeof current !== 'string' || current === 'silent') process.stderr.write(`${plain}\n`)
    else log[level](fields, message)
  }
  return {
    notice: (fields, message, plain) => write(SHOWS_INFO.has(log.level) ? 'info' : 'warn', fields, message, plain),
    warn: (fields, message, plain) => write('warn', fields, message, plain)
  }
}

/**
 * Cluster ids announced in this process. An app built twice in one process (a test harness, an HTTP and an admin
 * server of one installation) is one installation: its operator is told once. Another issuer URL is another
 * installation, with a cluster id of its own to quote, and is announced too. Bounded by the apps the process
 * itself registers the plugin on, never by anything a client sends.
 */
const announced = new Set<string>()

/** Once per process and cluster id, at `ready`: telemetry is on, what is sent, the cluster id, how to turn it off. */
export function announce (log: OperatorLog, options: ResolvedOptions, clusterId: string): void {
  if (announced.has(clusterId)) return
  announced.add(clusterId)
  const minutes = Math.round(options.identifyAfter / 60_000)
  const first = options.dryRun
    ? ' (dry run: events are logged, not sent); first events now'
    : `; first report after ${minutes === 0 ? `${options.identifyAfter} ms` : `${minutes} min`} of uptime`
  log.notice({ clusterId },
    `fastify-anonymous-telemetry: anonymous usage telemetry is on${first}. Cluster id ${clusterId}. ` +
    `What is sent: ${WHAT_IS_SENT_URL}. Turn it off with DISABLE_TELEMETRY=1, DO_NOT_TRACK=1 or the option enabled: false`)
}
