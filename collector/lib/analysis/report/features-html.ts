import { versionColour, type Series } from './charts'
import type { Counter, Fact, Rows, Stats } from './stats-types'
import { escapeHtml as e, formatNumber } from './text'

/** The page's own helpers (html.ts), so that this section reads and floors like the others. Captions are HTML: labels in them are escaped here. */
export interface PageParts {
  /** A count, or "fewer than k". */
  n: (value: number | null) => string
  table: (head: string[], rows: string[][]) => string
  /** The sentence counting the rows the floor left out, or nothing. */
  hidden: (rows: Rows<unknown>, what: string) => string
  bars: (labels: string[], series: Series[], caption: string, unit?: string) => string
  line: (days: string[], series: Series[], caption: string, options?: { stacked?: boolean }) => string
  perDay: (summary: string, content: string) => string
}

const percent = (share: number | null): number | null => share === null ? null : Math.round(share * 1000) / 10
const pct = (share: number | null): string => share === null ? '–' : `${(share * 100).toFixed(1)} %`

/**
 * The features section: per fact, the share of installations per value, on the latest version and on all; per
 * counter, the share of installations using it and its uses, then its uses per day by version. Every chart has its
 * table; a value, fact or counter below the floor is only counted.
 */
export function featuresSection (stats: Stats, parts: PageParts): string {
  const k = stats.minInstallations
  const f = stats.features
  const intro = '<p>What the apps report of their configuration (facts, set with <code>fastify.telemetry.fact(name, value)</code>) and of ' +
    'their use (counters, <code>fastify.telemetry.counter(name).inc()</code>), every name and value from the allow-list of the plugin’s ' +
    '<code>features</code> option. An installation counts once per figure however many days and instances it reported on; one whose ' +
    'instances (or days) reported different values of a fact counts under each, so a fact’s shares may add up to more than 100 %.</p>'
  const hidden = parts.hidden(f.facts, 'facts') + parts.hidden(f.counters, 'counters')
  const body = f.facts.rows.length === 0 && f.counters.rows.length === 0
    ? `<p class="floor">No fact or counter was reported by at least ${k} installations.</p>`
    : f.facts.rows.map(fact => factOf(stats, fact, parts)).join('') + countersOf(stats, parts)
  return `<section id="features"><h2>Features</h2>${intro}${body}${hidden}</section>`
}

function factOf (stats: Stats, fact: Fact, parts: PageParts): string {
  const latest = stats.features.latest
  const values = fact.values.rows
  const series: Series[] = [{ name: 'all versions', data: values.map(v => percent(v.share)) }]
  if (latest !== null) series.unshift({ name: `latest (${latest})`, data: values.map(v => percent(v.latest.share)) })
  const on = latest === null ? '' : ` (${parts.n(fact.installations.latest)} on ${e(latest)})`
  return `<h3>Fact: ${e(fact.name)}</h3><p>Reported by ${formatNumber(fact.installations.all)} installations${on}.</p>` +
    parts.bars(values.map(v => v.value), series,
      `${e(fact.name)}: share of the installations reporting it, per value${latest === null ? '' : ', on the latest version and on all'} (an installation counts under each value it reported)`, ' %') +
    parts.table(['value', ...latest === null ? [] : [`installations on ${e(latest)}`, `share on ${e(latest)}`], 'installations, all versions', 'share, all versions'],
      values.map(v => [e(v.value), ...latest === null ? [] : [parts.n(v.latest.installations), pct(v.latest.share)], formatNumber(v.installations), pct(v.share)])) +
    parts.hidden(fact.values, `values of ${e(fact.name)}`)
}

/** A counter's figures on one version: installations reporting it, using it, the share and the uses. */
const useCells = (parts: PageParts, u: { installations: number, using: number | null, share: number | null, uses: number | null }): string[] =>
  [formatNumber(u.installations), parts.n(u.using), pct(u.share), parts.n(u.uses)]

function countersOf (stats: Stats, parts: PageParts): string {
  const counters = stats.features.counters.rows
  if (counters.length === 0) return ''
  const latest = stats.features.latest
  const onLatest = (c: Counter): number | null => c.versions.rows.find(v => v.version === latest)?.share ?? null
  const series: Series[] = [{ name: 'all versions', data: counters.map(c => percent(c.share)) }]
  if (latest !== null) series.unshift({ name: `latest (${latest})`, data: counters.map(c => percent(onLatest(c))) })
  return '<h3>Counters</h3>' +
    parts.bars(counters.map(c => c.name), series, 'Share of the installations reporting each counter that used it (uses above 0)', ' %') +
    parts.table(['counter', 'installations reporting', 'using', 'share using', 'uses'], counters.map(c => [e(c.name), ...useCells(parts, c)])) +
    '<h3>Uses per day, by version</h3>' + counters.map(c => usesOf(c, stats, parts)).join('')
}

function usesOf (c: Counter, stats: Stats, parts: PageParts): string {
  const k = stats.minInstallations
  const published = stats.versions.rows.map(v => v.version)
  const head = `<h4>${e(c.name)}</h4>`
  if (c.versions.rows.length === 0) return `${head}<p class="floor">No version has ${k} installations reporting it: no uses per version.</p>${parts.hidden(c.versions, 'versions')}`
  const days = c.usesPerDay.map(d => d.day)
  const series: Series[] = c.versions.rows.map((v, i) => ({ name: v.version, data: c.usesPerDay.map(d => d.versions[i].uses), color: versionColour(published, v.version) }))
  return head +
    parts.line(days, series, `${e(c.name)}: uses per UTC day, one column per day stacking the versions (a version used at fewer than ${k} installations that day is left out)`, { stacked: true }) +
    parts.table(['version', 'installations reporting', 'using', 'share using', 'uses'], c.versions.rows.map(v => [e(v.version), ...useCells(parts, v)])) +
    parts.hidden(c.versions, 'versions') +
    parts.perDay('Per day', parts.table(['day', 'version', 'installations using', 'uses'],
      c.usesPerDay.flatMap(d => d.versions.map(v => [e(d.day), e(v.version), parts.n(v.using), parts.n(v.uses)]))))
}
