import { barChart, lineChart, type Series } from './charts'
import type { Distribution, LatencyFigure, Rows, Side, Stats } from './stats-types'
import { escapeHtml as e } from './text'

const DEFAULT_FLOOR = 5

const CSS = `
:root { color-scheme: light; }
body { font: 15px/1.45 sans-serif; color: #1d2330; background: #fff; max-width: 820px; margin: 2em auto; padding: 0 1em; }
h1 { font-size: 1.6em; margin-bottom: .2em; } h2 { margin-top: 2em; border-bottom: 1px solid #dbdee4; }
table { border-collapse: collapse; width: 100%; margin: .8em 0; font-size: .92em; }
th, td { border-bottom: 1px solid #e6e8ec; padding: .25em .5em; text-align: right; }
th:first-child, td:first-child, td.label { text-align: left; overflow-wrap: anywhere; }
.floor { color: #6b7280; font-style: italic; }
.regression { color: #b42318; font-weight: bold; }
.notice { background: #fff4e5; border: 1px solid #f5b041; padding: .5em .8em; }
figure { margin: 1em 0; } figure svg { max-width: 100%; height: auto; }
@media print { body { margin: 0; max-width: none; } h2 { break-after: avoid; } figure, table { break-inside: avoid; } }
`

/** The static page (ECharts escapes the text it draws; the page escapes the rest): inline CSS, charts as inline SVG, every figure also in a table; no script, no URL. */
export function renderHtml (stats: Stats): string {
  const k = stats.minInstallations
  const fewer = `<span class="floor">fewer than ${k}</span>`
  const n = (value: number | null): string => value === null ? fewer : String(value)
  const pct = (value: number): string => `${(value * 100).toFixed(1)} %`
  const hidden = (rows: Rows<unknown>, what: string): string => rows.belowFloor === 0
    ? ''
    : `<p class="floor">${rows.belowFloor} more ${what} seen at fewer than ${k} installations each: not shown.</p>`
  const table = (head: string[], rows: string[][]): string =>
    `<table><thead><tr>${head.map(h => `<th>${h}</th>`).join('')}</tr></thead><tbody>${rows.map(r => `<tr>${r.map((c, i) => i === 0 ? `<td class="label">${c}</td>` : `<td>${c}</td>`).join('')}</tr>`).join('')}</tbody></table>`
  const figure = (svg: string | null, caption: string): string =>
    svg === null ? '<p class="floor">No chart: every point is below the privacy floor.</p>' : `<figure class="chart">${svg}<figcaption>${caption}</figcaption></figure>`
  const hasPoint = (series: Series[]): boolean => series.some(s => s.data.some(v => v !== null))
  const line = (days: string[], series: Series[], caption: string, percent = false): string =>
    figure(hasPoint(series) ? lineChart(days, series, { percent }) : null, caption)
  const bars = (labels: string[], series: Series[], caption: string, unit?: string): string =>
    figure(hasPoint(series) ? barChart(labels, series, { unit }) : null, caption)

  const days = stats.activity.map(a => a.day)
  const distribution = (title: string, d: Distribution): string => `<h3>${title}</h3>` +
    bars(d.rows.map(r => r.value), [{ name: 'installations', data: d.rows.map(r => r.installations) }], `${title}: installations`) +
    table([title, 'installations', 'share'], d.rows.map(r => [e(r.value), String(r.installations), pct(r.share)])) + hidden(d, `values of ${title}`)

  const latency = (f: LatencyFigure | null, regressed: boolean): string =>
    f === null ? '–' : `<span${regressed ? ' class="regression"' : ''}>${e(f.display)}${regressed ? ' ▲' : ''}</span>`
  const side = (s: Side | null, r: Stats['comparison']['rows'][number]['regression'], marks: boolean): string[] => s === null
    ? [fewer, fewer, fewer, fewer, fewer]
    : [String(s.installations), latency(s.p50, marks && r.p50), latency(s.p95, marks && r.p95), latency(s.p99, marks && r.p99),
        `<span${marks && r.errorRate ? ' class="regression"' : ''}>${(s.errorRate * 100).toFixed(2)} %${marks && r.errorRate ? ' ▲' : ''}</span>`]
  const c = stats.comparison
  const comparable = c.rows.filter(r => r.latest?.p95?.ms != null || r.previous?.p95?.ms != null)

  return `<!doctype html>
<html lang="en"><head><meta charset="utf-8"><meta name="viewport" content="width=device-width, initial-scale=1">
<meta name="color-scheme" content="light"><meta name="referrer" content="no-referrer">
<title>Fleet statistics</title><style>${CSS}</style></head>
<body>
<header><h1>Fleet statistics</h1>
<p>${stats.period.from === null ? 'No activity yet.' : `From ${e(stats.period.from)} to ${e(stats.period.to as string)} (UTC days).`}
Generated ${e(stats.generatedAt)}. Figures from fewer than ${k} installations read “fewer than ${k}” and their labels are not shown.</p>
${k < DEFAULT_FLOOR ? `<p class="notice" id="floor-notice">Privacy floor lowered to ${k} installation${k === 1 ? '' : 's'} (default ${DEFAULT_FLOOR}): figures here may describe a single installation.</p>` : ''}
</header>
<main>
<section id="activity"><h2>1. Active installations and instances</h2>
<p>Installations: ${n(stats.fleet.installations)}; instances: ${n(stats.fleet.instances)}; requests counted: ${n(stats.fleet.requests)}.</p>
${line(days, [{ name: 'installations', data: stats.activity.map(a => a.installations) }, { name: 'instances', data: stats.activity.map(a => a.instances) }], 'Active installations and instances per UTC day')}
${table(['day', 'installations', 'instances'], stats.activity.map(a => [e(a.day), n(a.installations), n(a.instances)]))}
</section>
<section id="versions"><h2>2. Version adoption</h2>
${line(stats.adoption.map(a => a.day), stats.versions.rows.map((v, i) => ({ name: v.version, stack: true, data: stats.adoption.map(a => a.shares[i].share === null ? null : Math.round(a.shares[i].share as number * 1000) / 10) })), 'Share of active installations per app version (an installation running two versions in a day counts for the newer)', true)}
${table(['version', 'installations', 'first seen'], stats.versions.rows.map(v => [e(v.version), String(v.installations), e(v.firstDay)]))}
${hidden(stats.versions, 'versions')}
</section>
<section id="platform"><h2>3. Platforms</h2>
${distribution('os', stats.platform.os)}${distribution('arch', stats.platform.arch)}${distribution('Node.js version', stats.platform.runtimeVersion)}${distribution('CPU count', stats.platform.numCpu)}
</section>
<section id="endpoints"><h2>4. Endpoint usage</h2>
${bars(stats.endpoints.usage.rows.map(r => r.endpoint), [{ name: 'share of installations', data: stats.endpoints.usage.rows.map(r => Math.round(r.share * 1000) / 10) }], 'Share of installations using each endpoint', ' %')}
${table(['endpoint', 'installations', 'share', 'requests'], stats.endpoints.usage.rows.map(r => [e(r.endpoint), String(r.installations), pct(r.share), String(r.requests)]))}
${hidden(stats.endpoints.usage, 'endpoints')}
<h3>Requests per day</h3>
${line(stats.endpoints.requestsPerDay.map(r => r.day), [{ name: 'requests', data: stats.endpoints.requestsPerDay.map(r => r.requests) }], 'Requests per UTC day')}
${table(['day', 'installations', 'requests'], stats.endpoints.requestsPerDay.map(r => [e(r.day), n(r.installations), n(r.requests)]))}
<h3>Method mix</h3>
${bars(stats.endpoints.methods.rows.map(r => r.method), [{ name: 'share of requests', data: stats.endpoints.methods.rows.map(r => Math.round(r.share * 1000) / 10) }], 'Share of requests per method', ' %')}
${table(['method', 'installations', 'requests', 'share'], stats.endpoints.methods.rows.map(r => [e(r.method), String(r.installations), String(r.requests), pct(r.share)]))}
${hidden(stats.endpoints.methods, 'methods')}
</section>
<section id="comparison"><h2>5. Release comparison</h2>
${c.latest === null
  ? `<p class="floor">No version is used by at least ${k} installations.</p>`
  : `<p>Latest <strong>${e(c.latest)}</strong> against previous <strong>${c.previous === null ? '(none)' : e(c.previous)}</strong>. Percentiles by linear interpolation inside the merged histogram's bucket; “&gt; 10 s” is the open top bucket. ▲ marks a regression. ${e(c.rule.text)} “inst.” is the number of installations behind the figures.</p>
${figure(comparable.length === 0 ? null : barChart(comparable.map(r => `${r.method} ${r.endpoint}`), [{ name: `${c.latest} p95`, data: comparable.map(r => r.latest?.p95?.ms ?? null) }, { name: `${c.previous ?? ''} p95`, data: comparable.map(r => r.previous?.p95?.ms ?? null) }], { unit: ' ms' }), 'p95 latency per endpoint and method, latest against previous (bars above 10 s are left out)')}
${table(['endpoint', 'method', 'inst.', 'p50', 'p95', 'p99', '5xx', 'inst.', 'p50', 'p95', 'p99', '5xx'].map((h, i) => i < 2 ? h : `${e((i < 7 ? c.latest : c.previous) ?? '')} ${h}`), c.rows.map(r => [e(r.endpoint), e(r.method), ...side(r.latest, r.regression, true), ...side(r.previous, r.regression, false)]))}`}
${c.belowFloor === 0 ? '' : `<p class="floor">${c.belowFloor} more endpoint and method pairs seen at fewer than ${k} installations: not shown.</p>`}
</section>
<section id="memory"><h2>6. Memory by version</h2>
${bars(stats.memory.rows.map(r => r.version), [{ name: 'rss p50 (MB)', data: stats.memory.rows.map(r => Math.round(r.rss.p50 / 1e5) / 10) }, { name: 'heapUsed p50 (MB)', data: stats.memory.rows.map(r => Math.round(r.heapUsed.p50 / 1e5) / 10) }], 'Median memory per version (each installation’s median over its reports, then across installations)', ' MB')}
${table(['version', 'installations', 'rss p50', 'rss p95', 'heapUsed p50', 'heapUsed p95'], stats.memory.rows.map(r => [e(r.version), String(r.installations), ...[r.rss.p50, r.rss.p95, r.heapUsed.p50, r.heapUsed.p95].map(b => `${(b / 1e6).toFixed(1)} MB`)]))}
${hidden(stats.memory, 'versions')}
</section>
</main>
</body></html>
`
}
