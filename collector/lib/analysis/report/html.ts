import { barChart, lineChart, versionColour, type Series } from './charts'
import { featuresSection } from './features-html'
import { headline, rowAnchor, windowText } from './headline'
import { formatMs } from './percentiles'
import type { ComparisonRow, Distribution, Measure, MeasureComparison, Rows, Stats } from './stats-types'
import { escapeHtml as e, formatNumber } from './text'

const DEFAULT_FLOOR = 5

// Charts come at two widths (charts.ts): the narrow one below 640 px. Tables keep their cells on one line and scroll
// inside their own box, so that the page itself never scrolls sideways.
const CSS = `
:root { color-scheme: light; }
body { font: 15px/1.45 sans-serif; color: #1d2330; background: #fff; max-width: 820px; margin: 1.5em auto; padding: 0 15px; }
h1 { font-size: 1.6em; margin: 0 0 .3em; } h2 { margin-top: 2em; border-bottom: 1px solid #dbdee4; } h3 { margin-bottom: .3em; }
.headline { font-size: 1.15em; border-left: 4px solid #3b5bdb; background: #f3f5fb; padding: .6em .9em; margin: .6em 0; } .headline a { white-space: nowrap; }
.worse { color: #b42318; font-weight: bold; } .better { color: #067647; font-weight: bold; }
.day { white-space: nowrap; } .meta, .floor, .rule, figcaption { color: #4b5563; font-size: .9em; } .floor { font-style: italic; }
.notice { background: #fff4e5; border: 1px solid #f5b041; padding: .5em .8em; }
.scroll { overflow-x: auto; margin: .8em 0; }
table { border-collapse: collapse; font-size: .92em; min-width: 100%; }
th, td { border-bottom: 1px solid #e6e8ec; padding: .25em .6em; text-align: right; white-space: nowrap; }
th:first-child, td:first-child { text-align: left; }
table.comparison td { vertical-align: top; line-height: 1.3; } table.comparison th, table.comparison td { padding-left: .45em; padding-right: .45em; } table.comparison tr:target { background: #fff8db; }
figure { margin: 1em 0; } figure svg { display: block; max-width: 100%; height: auto; }
@media (max-width: 640px) { body { font-size: 14px; } figure svg.wide { display: none; } }
@media (min-width: 641px) { figure svg.narrow { display: none; } }
@media print { body { margin: 0; max-width: none; } h2 { break-after: avoid; } figure, tr { break-inside: avoid; } .scroll { overflow: visible; } }
`

const MEASURES: Array<[Measure, string]> = [['p50', 'p50'], ['p95', 'p95'], ['p99', 'p99'], ['errorRate', '5xx']]

/**
 * The static page (ECharts escapes the text it draws; the page escapes the rest): inline CSS, charts as inline SVG,
 * every figure also in a table; no script, no URL but links to its own rows.
 */
export function renderHtml (stats: Stats): string {
  const k = stats.minInstallations
  const fewer = `<span class="floor">fewer than ${k}</span>`
  const n = (value: number | null): string => value === null ? fewer : formatNumber(value)
  const pct = (value: number): string => `${(value * 100).toFixed(1)} %`
  const hidden = (rows: Rows<unknown>, what: string): string => rows.belowFloor === 0
    ? ''
    : `<p class="floor">${more(rows.belowFloor, what)} seen at fewer than ${k} installations each: not shown.</p>`
  const table = (head: string[], rows: string[][]): string =>
    `<div class="scroll"><table><thead><tr>${head.map(h => `<th>${h}</th>`).join('')}</tr></thead><tbody>${rows.map(r => `<tr>${r.map(c => `<td>${c}</td>`).join('')}</tr>`).join('')}</tbody></table></div>`
  const perDay = (summary: string, content: string): string => `<details><summary>${summary}</summary>${content}</details>`
  const figure = (svg: string | null, caption: string): string =>
    svg === null ? '<p class="floor">No chart: every point is below the privacy floor.</p>' : `<figure class="chart">${svg}<figcaption>${caption}</figcaption></figure>`
  const hasPoint = (series: Series[]): boolean => series.some(s => s.data.some(v => v !== null))
  const line = (days: string[], series: Series[], caption: string, options?: { stacked?: boolean }): string =>
    figure(hasPoint(series) ? lineChart(days, series, options) : null, caption)
  const bars = (labels: string[], series: Series[], caption: string, unit?: string): string =>
    figure(hasPoint(series) ? barChart(labels, series, { unit }) : null, caption)
  const percent = (share: number): number => Math.round(share * 1000) / 10

  const days = stats.activity.map(a => a.day)
  const distribution = (title: string, d: Distribution): string => `<h3>${title}</h3>` +
    bars(d.rows.map(r => r.value), [{ name: 'installations', data: d.rows.map(r => r.installations) }], `${title}: installations`) +
    table([title, 'installations', 'share'], d.rows.map(r => [e(r.value), formatNumber(r.installations), pct(r.share)])) + hidden(d, `values of ${title}`)

  const title = stats.title === null ? 'Fleet statistics' : `${e(stats.title)}: fleet statistics`
  return `<!doctype html>
<html lang="en"><head><meta charset="utf-8"><meta name="viewport" content="width=device-width, initial-scale=1">
<meta name="color-scheme" content="light"><meta name="referrer" content="no-referrer">
<title>${title}</title><style>${CSS}</style></head>
<body>
<header><h1>${title}</h1>
<p class="headline" id="headline">${headline(stats)}</p>
<p class="meta">${stats.period.from === null ? '' : `Every figure is ${windowText(stats.period)}, in UTC days. `}Generated ${e(stats.generatedAt)}. Figures from fewer than ${k} installations read “fewer than ${k}” and their labels are not shown.</p>
${k < DEFAULT_FLOOR ? `<p class="notice" id="floor-notice">Privacy floor lowered to ${k} installation${k === 1 ? '' : 's'} (default ${DEFAULT_FLOOR}): figures here may describe a single installation.</p>` : ''}
</header>
<main>
${comparison(stats, { n, bars })}
${featuresSection(stats, { n, table, hidden, bars, line, perDay })}
<section id="versions"><h2>Version adoption</h2>
${adoption(stats, figure)}
${table(['version', 'installations', 'first seen'], stats.versions.rows.map(v => [e(v.version), formatNumber(v.installations), e(v.firstDay)]))}
${hidden(stats.versions, 'versions')}
</section>
<section id="activity"><h2>Active installations and instances</h2>
<p>Installations: ${n(stats.fleet.installations)}; instances: ${n(stats.fleet.instances)}; requests counted: ${n(stats.fleet.requests)}.</p>
${line(days, [{ name: 'installations', data: stats.activity.map(a => a.installations) }, { name: 'instances', data: stats.activity.map(a => a.instances) }], 'Active installations and instances per UTC day')}
${perDay('Per day', table(['day', 'installations', 'instances'], stats.activity.map(a => [e(a.day), n(a.installations), n(a.instances)])))}
</section>
<section id="endpoints"><h2>Endpoint usage</h2>
${bars(stats.endpoints.usage.rows.map(r => r.endpoint), [{ name: 'share of installations', data: stats.endpoints.usage.rows.map(r => percent(r.share)) }], 'Share of installations using each endpoint', ' %')}
${table(['endpoint', 'installations', 'share', 'requests'], stats.endpoints.usage.rows.map(r => [e(r.endpoint), formatNumber(r.installations), pct(r.share), formatNumber(r.requests)]))}
${hidden(stats.endpoints.usage, 'endpoints')}
<h3>Requests per day</h3>
${line(stats.endpoints.requestsPerDay.map(r => r.day), [{ name: 'requests', data: stats.endpoints.requestsPerDay.map(r => r.requests) }], 'Requests per UTC day')}
${perDay('Per day', table(['day', 'installations', 'requests'], stats.endpoints.requestsPerDay.map(r => [e(r.day), n(r.installations), n(r.requests)])))}
<h3>Method mix</h3>
${bars(stats.endpoints.methods.rows.map(r => r.method), [{ name: 'share of requests', data: stats.endpoints.methods.rows.map(r => percent(r.share)) }], 'Share of requests per method', ' %')}
${table(['method', 'installations', 'requests', 'share'], stats.endpoints.methods.rows.map(r => [e(r.method), formatNumber(r.installations), formatNumber(r.requests), pct(r.share)]))}
${hidden(stats.endpoints.methods, 'methods')}
</section>
<section id="platform"><h2>Platforms</h2>
${distribution('os', stats.platform.os)}${distribution('arch', stats.platform.arch)}${distribution('Node.js version', stats.platform.runtimeVersion)}${distribution('CPU count', stats.platform.numCpu)}
</section>
<section id="memory"><h2>Memory by version</h2>
${bars(stats.memory.rows.map(r => r.version), [{ name: 'rss p50 (MB)', data: stats.memory.rows.map(r => Math.round(r.rss.p50 / 1e5) / 10) }, { name: 'heapUsed p50 (MB)', data: stats.memory.rows.map(r => Math.round(r.heapUsed.p50 / 1e5) / 10) }], 'Median memory per version (each installation’s median over its reports, then across installations)', ' MB')}
${table(['version', 'installations', 'rss p50', 'rss p95', 'heapUsed p50', 'heapUsed p95'], stats.memory.rows.map(r => [e(r.version), formatNumber(r.installations), ...[r.rss.p50, r.rss.p95, r.heapUsed.p50, r.heapUsed.p95].map(b => `${(b / 1e6).toFixed(1)} MB`)]))}
${hidden(stats.memory, 'versions')}
</section>
</main>
</body></html>
`
}

/** "3 more values of os", "1 more value of os": `what` is plural, its first word said in the singular for one. */
const more = (n: number, what: string): string => `${formatNumber(n)} more ${n === 1 ? what.replace(/^(\w+)s\b/, '$1') : what}`

type Figure = (svg: string | null, caption: string) => string

/**
 * Per day, each published version's share as a band of a 100 % stacked column; `other` (versions under the floor that
 * day) in grey, and a day with too few active installations drawn as one grey band of its own: never a gap.
 */
function adoption (stats: Stats, figure: Figure): string {
  const k = stats.minInstallations
  const days = stats.adoption
  const share = (value: number | null): number => (value ?? 0) * 100
  const published = stats.versions.rows.map(v => v.version)
  const series: Series[] = published.map((version, i) => ({ name: version, data: days.map(a => share(a.shares[i].share)), color: versionColour(published, version) }))
  const other = days.map(a => share(a.other.share))
  if (other.some(v => v > 0)) series.push({ name: `other versions (each fewer than ${k} installations that day)`, data: other, color: '#b8bcc6' })
  const empty = days.map(a => a.installations === null ? 100 : 0)
  if (empty.some(v => v > 0)) series.push({ name: `fewer than ${k} installations active that day`, data: empty, color: '#e3e5ea' })
  return figure(days.every(a => a.installations === null) ? null : lineChart(days.map(a => a.day), series, { shares: true }),
    'Share of active installations per app version: one column per UTC day, its bands (one per version) adding up to 100 % (an installation running two versions in a day counts for the newer)')
}

interface Parts {
  n: (value: number | null) => string
  bars: (labels: string[], series: Series[], caption: string, unit?: string) => string
}

function signed (value: number, digits: number): string {
  const rounded = Number(value.toFixed(digits))
  return `${rounded > 0 ? '+' : rounded < 0 ? '−' : '±'}${formatNumber(Math.abs(rounded))}`
}

/** A measure's figure: latency in ms (or s), a 5xx rate in %. */
function figureOf (m: Measure, value: number | null): string {
  if (value === null) return '–'
  return m === 'errorRate' ? `${(value * 100).toFixed(2)} %` : formatMs(value)
}

/** The change the rule tested: latency as % (from the ratio), 5xx in percentage points. */
function changeOf (m: Measure, change: number): string {
  return m === 'errorRate' ? `${signed(change, 2)} pt` : `${signed((change - 1) * 100, 1)} %`
}

/** The installations behind a cell's figures (the pairs, or each group), the test, and its one-sided p in the direction of the change. */
function testOf (c: MeasureComparison): string {
  const p = c.p as { worse: number, better: number }
  const smaller = Math.min(p.worse, p.better)
  const behind = c.test === 'paired'
    ? `${formatNumber(c.pairs)} pairs`
    : `groups ${formatNumber(c.installations.previous)} → ${formatNumber(c.installations.latest)}`
  return `${behind}, p ${smaller < 0.0001 ? '&lt; 0.0001' : `= ${smaller.toPrecision(2)}`}`
}

/**
 * The release comparison, rows marked worse first: per endpoint and method, the installations behind each side and,
 * per measure, the change the rule tested (marked ▲ worse, ▼ better), previous → latest as the test saw them (over the
 * pairs when it is paired) and the test. A row
 * not compared points to its reason, listed once under the table.
 */
function comparison (stats: Stats, { n, bars }: Parts): string {
  const k = stats.minInstallations
  const c = stats.comparison
  const head = '<section id="comparison"><h2>Release comparison</h2>'
  const belowFloor = c.belowFloor === 0 ? '' : `<p class="floor">${more(c.belowFloor, 'pairs of endpoint and method')} seen at fewer than ${k} installations: not shown.</p>`
  if (c.latest === null) return `${head}<p class="floor">No version is used by at least ${k} installations.</p>${belowFloor}</section>`
  const latest = c.latest
  const previous = c.previous
  const label = (r: ComparisonRow): string => `${r.method} ${r.endpoint}`
  // The bars are the cells' figures: for a measure compared by pairs, the paired installations' medians.
  const chart = (m: Measure, caption: string, unit: string, scale: number): string => {
    const shown = c.rows.filter(r => r.measures[m].latest !== null || r.measures[m].previous !== null)
    const value = (v: number | null): number | null => v === null ? null : Math.round(v * scale * 100) / 100
    // Previous first, as in the cells (before → after), in grey: the latest in colour.
    const series: Series[] = previous === null
      ? [{ name: latest, data: shown.map(r => value(r.measures[m].latest)) }]
      : [{ name: previous, data: shown.map(r => value(r.measures[m].previous)), color: '#a3aab8' }, { name: latest, data: shown.map(r => value(r.measures[m].latest)), color: '#3b5bdb' }]
    return bars(shown.map(label), series,
      `${caption}: the median over the installations${previous === null ? '' : ' (over the pairs where the test is paired), as in the table'}`, unit)
  }
  const charts = chart('p95', 'p95 latency per endpoint and method (each installation’s own p95)', ' ms', 1) +
    chart('errorRate', '5xx rate per endpoint and method (each installation’s own share of 5xx responses)', ' %', 100)
  const reasons: string[] = []
  const note = (reason: string): number => {
    if (!reasons.includes(reason)) reasons.push(reason)
    return reasons.indexOf(reason) + 1
  }
  const cell = (r: ComparisonRow, m: Measure): string => {
    const x = r.measures[m]
    if (previous === null) return figureOf(m, x.latest)
    const values = x.latest === null && x.previous === null ? '' : `<br><small>${figureOf(m, x.previous)} → ${figureOf(m, x.latest)}</small>`
    if (x.change === null) return `<span class="floor">not compared<sup>${note(x.reason as string)}</sup></span>${values}`
    const mark = r.regression[m] ? ['worse', ' ▲'] : r.improvement[m] ? ['better', ' ▼'] : ['same', '']
    return `<span class="${mark[0]}">${changeOf(m, x.change)}${mark[1]}</span>${values}<br><small>${testOf(x)}</small>`
  }
  // Before → after, as in the cells: previous first.
  const sides = (r: ComparisonRow): Array<ComparisonRow['latest']> => previous === null ? [r.latest] : [r.previous, r.latest]
  const installations = (r: ComparisonRow): string => sides(r).map(s => n(s === null ? null : s.installations)).join(' → ')
  const rows = c.rows.map((r, i) => `<tr id="${rowAnchor(i)}"><td><strong>${e(label(r))}</strong></td><td>${installations(r)}</td>${MEASURES.map(([m]) => `<td>${cell(r, m)}</td>`).join('')}</tr>`).join('')
  const intro = previous === null
    ? `<p>${e(latest)} is the only version with at least ${k} installations: nothing to compare it with yet. Its figures per endpoint and method, each the median over the installations with enough responses:</p>`
    : `<p>Latest <strong>${e(latest)}</strong> against previous <strong>${e(previous)}</strong>, rows marked worse first. Each cell: the change ` +
      '(latency in %, 5xx in percentage points; ▲ worse, ▼ better) from previous to latest, the medians below it; then the installations behind them and the test’s p. ' +
      'Where enough installations ran both versions, the test is paired and the medians are over those pairs; ' +
      'otherwise the two groups of installations are compared unpaired, and each version’s median is over its own.</p>'
  const table = `<div class="scroll"><table class="comparison"><thead><tr><th>endpoint</th><th>installations<br>${previous === null ? e(latest) : `${e(previous)} → ${e(latest)}`}</th>${MEASURES.map(([, name]) => `<th>${name}</th>`).join('')}</tr></thead><tbody>${rows}</tbody></table></div>`
  const notes = reasons.length === 0 ? '' : `<ol class="floor">${reasons.map(r => `<li>${e(r)}</li>`).join('')}</ol>`
  return `${head}${intro}${charts}${table}${notes}${previous === null ? '' : `<p class="rule">${e(c.rule.text)}</p>`}${belowFloor}</section>`
}
