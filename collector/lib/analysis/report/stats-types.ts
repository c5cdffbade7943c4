/** stats.json, schemaVersion 2 (JSON Schema: schema/stats/stats.v2.json). null always means "fewer than k installations". */
export interface Stats {
  schema: 'fastify-anonymous-telemetry-collector/stats'
  schemaVersion: 2
  generatedAt: string
  /** The project's name (`report --title`), null when none was given. */
  title: string | null
  minInstallations: number
  /** The window every figure covers (UTC days, both included): the last `days` days (`report --days`), or all when days is null. */
  period: { from: string | null, to: string | null, days: number | null }
  fleet: { installations: number | null, instances: number | null, requests: number | null }
  activity: Array<{ day: string, installations: number | null, instances: number | null }>
  versions: Rows<{ version: string, installations: number, firstDay: string }>
  /** Per day: the published versions' shares and `other` (every version under the floor that day) add up to 1. */
  adoption: Array<{ day: string, installations: number | null, shares: Array<{ version: string, installations: number | null, share: number | null }>, other: { installations: number | null, share: number | null } }>
  platform: { os: Distribution, arch: Distribution, runtimeVersion: Distribution, numCpu: Distribution }
  endpoints: {
    usage: Rows<{ endpoint: string, installations: number, share: number, requests: number }>
    requestsPerDay: Array<{ day: string, installations: number | null, requests: number | null }>
    methods: Rows<{ method: string, installations: number, requests: number, share: number }>
  }
  comparison: Comparison
  features: Features
  memory: Rows<{ version: string, installations: number, rss: Quantiles, heapUsed: Quantiles }>
}

/** Published rows (each from at least k installations) and the number of rows the floor left out. */
export interface Rows<T> { rows: T[], belowFloor: number }
export type Distribution = Rows<{ value: string, installations: number, share: number }> & { installations: number | null }
export interface Quantiles { p50: number, p95: number }

export interface LatencyFigure { bucket: number, ms: number | null, display: string }
/**
 * One version's traffic on an endpoint × method, pooled over all its installations' requests (the page shows only its
 * installations). Not what the rule compares: see `measures`.
 */
export interface Side {
  installations: number
  requests: number
  responses: number
  errors5xx: number
  errorRate: number
  p50: LatencyFigure | null
  p95: LatencyFigure | null
  p99: LatencyFigure | null
}

/** What the release rule compares: three latency percentiles and the 5xx rate. */
export type Measure = 'p50' | 'p95' | 'p99' | 'errorRate'

/**
 * How a measure was compared. `paired`: one-sided Wilcoxon signed-rank test over the installations that ran both
 * versions; `unpaired`: one-sided Mann–Whitney U test between the two groups of installations; `none`: no test
 * (`reason` says why), nothing marked.
 */
export type ComparisonTest = 'paired' | 'unpaired' | 'none'

/**
 * One measure of one endpoint × method under the rule whose unit is the installation. An installation counts on a
 * side when it has enough responses there (`rule.minResponses`, `rule.minResponsesP99` for p99); each counted
 * installation's figure comes from its own merged histogram (latency, ms) or its own counts (5xx rate, 0–1).
 */
export interface MeasureComparison {
  /**
   * The figures the test compared, shown in the page's cells and comparison charts (ms, or a rate 0–1). Test
   * `paired`: the median over the pairs of each one's figure on that version (installations on one version only are
   * left out, as the test leaves them out; `pairs` says how many). Otherwise: the median over the installations
   * counted on that side. Null when that side is below the floor.
   */
  latest: number | null
  previous: number | null
  /** Installations counted on each side, pairs or not (those below the floor are still counted here: a count, never a figure). */
  installations: { latest: number, previous: number }
  /**
   * The effect between `previous` and `latest` (the minimum effect applies to it), null when there is no test.
   * Latency: the ratio latest / previous, 1.6 = 60 % slower. 5xx: the difference latest − previous in percentage
   * points, 0.5 = +0.5 points.
   */
  change: number | null
  test: ComparisonTest
  /** Pairs behind a paired test and its figures (installations counted on both sides); 0 otherwise. */
  pairs: number
  /**
   * One-sided p-values of the tests against the minimum effect: that latest is worse by more than it (ratio above
   * 1.10, difference above +0.5 points), and better by more than it; null without a test.
   */
  p: { worse: number, better: number } | null
  /** Why there is no test (test `none`), else null: e.g. "not enough installations to compare (3 pairs, groups of 4 and 9)". */
  reason: string | null
}

/** An endpoint × method named in the summary; it links to its row. */
export interface RowRef { endpoint: string, method: string }

/** Per measure, whether the rule marked it (p below alpha and the minimum effect reached). */
export interface Marks { p50: boolean, p95: boolean, p99: boolean, errorRate: boolean }

export interface ComparisonRow {
  endpoint: string
  method: string
  latest: Side | null
  previous: Side | null
  /** Marked worse in the latest version. */
  regression: Marks
  /** Marked better in the latest version (the same rule, the other direction). */
  improvement: Marks
  measures: Record<Measure, MeasureComparison>
}

/** The rule in words and in numbers. */
export interface ComparisonRule {
  /** The whole rule in one paragraph, for the page. */
  text: string
  unit: 'installation'
  /** One-sided level of each paired test. */
  alpha: number
  /**
   * The unpaired tests of this comparison and the level of each: alpha / unpairedTests (Bonferroni), since tests
   * between different installations are many and weak evidence; alpha when there are none.
   */
  unpairedTests: number
  unpairedAlpha: number
  /** Responses an installation needs on a side to count there (p50, p95, 5xx), and for p99. */
  minResponses: number
  minResponsesP99: number
  /** The paired test needs this many pairs; the Wilcoxon p is exact up to `exactPairs`, a normal approximation with tie correction above. */
  minPairs: number
  exactPairs: number
  /** The unpaired test needs this many installations in each group. */
  minGroup: number
  /** Minimum effect to mark a measure: the latency ratio (1.10 = 10 % slower; 1 / 1.10 faster), and the 5xx difference in percentage points. */
  minLatencyRatio: number
  minErrorRatePoints: number
}

/** The endpoints the rule marked: slower (any percentile worse), faster (a percentile better and none worse), and so for 5xx. */
export interface ComparisonSummary { slower: RowRef[], moreErrors: RowRef[], faster: RowRef[], fewerErrors: RowRef[] }

export interface Comparison {
  latest: string | null
  previous: string | null
  rule: ComparisonRule
  summary: ComparisonSummary
  /** Rows marked worse first, then those marked better, then the rest; each group by endpoint, method. */
  rows: ComparisonRow[]
  belowFloor: number
}

/**
 * Feature facts and counters (the plugin's `features` option, schemaVersion 3 on), over the window. An installation
 * counts once per figure however many days and instances it reported on; one whose instances (or days) reported
 * different values of a fact counts under each, so a fact's shares may add up to more than 1.
 */
export interface Features {
  /** The version the `latest` figures are of: the newest published version, as in the release comparison (null: none). */
  latest: string | null
  /** Facts at least k installations reported, by name; facts below the floor are only counted. */
  facts: Rows<Fact>
  /** Counters at least k installations reported, most used first; counters below the floor are only counted. */
  counters: Rows<Counter>
}

/** One fact: the installations that reported it (on any version; on the latest), and its values. */
export interface Fact {
  name: string
  installations: { all: number, latest: number | null }
  /** Values at least k installations reported, most reported first; share = installations reporting the value / reporting the fact. */
  values: Rows<FactValue>
}

export interface FactValue {
  value: string
  installations: number
  share: number
  /** The same on the latest version alone. */
  latest: { installations: number | null, share: number | null }
}

/** How much a counter was used: installations that used it (uses > 0), their share of those reporting it, and the uses. */
export interface CounterUse {
  using: number | null
  share: number | null
  uses: number | null
}

/** One counter: the installations that reported it and its use on all versions, per published version and per day. */
export interface Counter extends CounterUse {
  name: string
  installations: number
  /** Published versions oldest first (k installations reporting the counter on each). */
  versions: Rows<CounterUse & { version: string, installations: number }>
  /** Per UTC day the counter was reported, per version of `versions`: installations that used it that day, and the uses. */
  usesPerDay: Array<{ day: string, versions: Array<{ version: string, using: number | null, uses: number | null }> }>
}
