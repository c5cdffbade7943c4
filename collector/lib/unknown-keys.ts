import type { FastifyBaseLogger } from 'fastify'
import { defaultSourceId } from './options'

/** Distinct unknown keys named in the log and in /health; refusals of any further key are counted together. */
export const UNKNOWN_KEYS_NAMED = 100
/** After its first warning, a key is warned about at most this often, with the count since its last warning. */
export const WARN_EVERY_MS = 60_000

/** /health's `unknownKeys`: requests refused for a write key that is not configured. */
export interface UnknownKeyCounts {
  /** By the key's short hash (the first 8 hex digits of its SHA-256), for the first 100 distinct keys. */
  byHash: Record<string, number>
  /** Refusals of keys beyond those 100: a sender spraying keys cannot grow the collector's memory. */
  others: number
}

interface Throttle { keyHash: string | undefined, pending: number, warnedAt: number }

/**
 * Says in the log that a sender uses a key this collector does not know (a plugin shipped with a wrong or revoked
 * key), without the log filling up: a `warn` the first time each key is seen, then at most once a minute per key
 * with the count since, and at close for what the last line did not count. Only the key's short hash is kept or
 * shown, never the key, beside the source ids that do exist, so a maintainer can tell which key a sender has.
 */
export class UnknownKeys {
  private readonly throttles = new Map<string, Throttle>()
  private readonly others: Throttle = { keyHash: undefined, pending: 0, warnedAt: Number.NEGATIVE_INFINITY }
  private readonly sourceIds: string[]

  constructor (readonly counts: UnknownKeyCounts, sourceIds: string[], private readonly log: FastifyBaseLogger, private readonly now: () => number) {
    this.sourceIds = [...new Set(sourceIds)].sort()
  }

  /** One request refused for `key`, which is not configured. */
  refused (key: string): void {
    const keyHash = defaultSourceId(key).slice(0, 8)
    let throttle = this.throttles.get(keyHash)
    if (throttle === undefined && this.throttles.size < UNKNOWN_KEYS_NAMED) {
      throttle = { keyHash, pending: 0, warnedAt: Number.NEGATIVE_INFINITY }
      this.throttles.set(keyHash, throttle)
    }
    if (throttle === undefined) {
      this.counts.others++
      throttle = this.others
    } else {
      this.counts.byHash[keyHash] = (this.counts.byHash[keyHash] ?? 0) + 1
    }
    throttle.pending++
    const now = this.now()
    if (now - throttle.warnedAt >= WARN_EVERY_MS) this.warn(throttle, now)
  }

  /** At close: the refusals that came after each key's last line. */
  close (): void {
    const now = this.now()
    for (const throttle of [...this.throttles.values(), this.others]) if (throttle.pending > 0) this.warn(throttle, now)
  }

  private warn (throttle: Throttle, now: number): void {
    const { keyHash, pending, warnedAt } = throttle
    const total = keyHash === undefined ? this.counts.others : this.counts.byHash[keyHash]
    const which = keyHash === undefined ? `write keys beyond the first ${UNKNOWN_KEYS_NAMED} unknown ones (counted together) are` : `write key ${keyHash} (SHA-256 prefix) is`
    const refused = warnedAt === Number.NEGATIVE_INFINITY
      ? 'request refused'
      : `${pending} more ${pending === 1 ? 'request' : 'requests'} refused in the last ${Math.round((now - warnedAt) / 1000)} s (${total} in all)`
    this.log.warn({ keyHash, refused: pending, total, sourceIds: this.sourceIds }, `${which} not configured: ${refused}; the configured source ids are ${this.sourceIds.join(', ')}`)
    throttle.pending = 0
    throttle.warnedAt = now
  }
}
