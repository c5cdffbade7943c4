import { FST_TELEMETRY_UNKNOWN_FEATURE } from './errors'

/** The `features` register option: every name and value a literal from the maintainer's code. */
export interface FeatureOptions {
  /** Fact name -> the values it may take. Any other value set with `fact()` is reported as `other`. */
  facts?: Readonly<Record<string, readonly string[]>>
  /** Names of the counters `counter(name).inc()` counts. */
  counters?: readonly string[]
}

/** `features` after validation: names sorted, values deduplicated. */
export interface ResolvedFeatures {
  facts: ReadonlyMap<string, ReadonlySet<string>>
  counters: readonly string[]
}

/** What `fastify.telemetry.counter(name)` returns: made once, kept, and bumped wherever the feature is used. */
export interface FeatureCounter {
  /** Counts `n` uses (default 1). O(1), allocates nothing; anything but a positive integer is ignored. */
  inc (n?: number): void
}

/**
 * `fastify.telemetry`'s feature calls with the names of one `features` option as literal types, so that a typo fails
 * to compile: `const features = { ... } as const satisfies FeatureOptions`, register it, then
 * `const telemetry: TypedFeatures<typeof features> = fastify.telemetry`. A value is any string (one not listed is
 * reported as `other`); the listed ones are offered first.
 */
export interface TypedFeatures<F extends FeatureOptions> {
  fact: <N extends FactName<F>>(name: N, value: FactValue<F, N> | (string & {})) => void
  counter: (name: CounterName<F>) => FeatureCounter
}

type FactName<F extends FeatureOptions> = F extends { facts: infer Facts } ? keyof Facts & string : never
type FactValue<F extends FeatureOptions, N extends string> = F extends { facts: Record<N, readonly string[]> } ? F['facts'][N][number] : never
type CounterName<F extends FeatureOptions> = F extends { counters: ReadonlyArray<infer Name> } ? Name : never

/** Fact name -> the value last set; counter name -> uses since the instance started. Part 1 of every report. */
export interface FeatureRecords {
  facts: Record<string, string>
  features: Record<string, number>
}

/** The value reported for a fact set to anything not on its list. Reserved: no list may hold it. */
export const OTHER_VALUE = 'other'

export const FEATURE_LIMITS = { facts: 32, values: 32, counters: 64 } as const

class CounterCell implements FeatureCounter {
  count = 0

  inc (n = 1): void {
    // A count past 2^53 would lose precision and, in JSON, the schema's integer type; it stops there instead.
    if (Number.isSafeInteger(n) && n > 0) this.count = Math.min(this.count + n, Number.MAX_SAFE_INTEGER)
  }
}

/** The names an unknown-name error lists: `none` rather than nothing when the option declares none of its kind. */
function declaredList (names: readonly string[]): string {
  return names.length === 0 ? 'none' : names.join(', ')
}

/** The handle of every counter while telemetry is off: the same calls, nothing kept. */
const IDLE: FeatureCounter = Object.freeze({ inc () {} })

/**
 * The feature facts and counters of one registration. Names are checked the same whether telemetry is on or off,
 * so that a typo fails in development, where telemetry is usually off; only an instance that records keeps values.
 */
export class Features {
  private readonly values = new Map<string, string>()
  private readonly cells = new Map<string, CounterCell>()

  constructor (private readonly declared: ResolvedFeatures, private readonly recording: boolean) {
    for (const name of declared.counters) this.cells.set(name, new CounterCell())
  }

  /** Sets fact `name` to `value`, or to `other` when `value` is not on its list. */
  fact (name: string, value: string): void {
    const allowed = this.declared.facts.get(name)
    if (allowed === undefined) throw new FST_TELEMETRY_UNKNOWN_FEATURE('fact', String(name), declaredList([...this.declared.facts.keys()]))
    if (this.recording) this.values.set(name, allowed.has(value) ? value : OTHER_VALUE)
  }

  /** The counter of `name`: the same handle on every call. */
  counter (name: string): FeatureCounter {
    const cell = this.cells.get(name)
    if (cell === undefined) throw new FST_TELEMETRY_UNKNOWN_FEATURE('counter', String(name), declaredList(this.declared.counters))
    return this.recording ? cell : IDLE
  }

  /** Facts set so far (those never set are left out) and every counter, unused ones at 0. */
  records (): FeatureRecords {
    const facts: Record<string, string> = {}
    for (const name of this.declared.facts.keys()) {
      const value = this.values.get(name)
      if (value !== undefined) facts[name] = value
    }
    const features: Record<string, number> = {}
    for (const [name, cell] of this.cells) features[name] = cell.count
    return { facts, features }
  }
}
