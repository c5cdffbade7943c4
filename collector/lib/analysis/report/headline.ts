import type { RowRef, Stats } from './stats-types'
import { escapeHtml as e, formatNumber } from './text'

const DAY_MS = 86_400_000

/** The id of the page's comparison row `index` of `comparison.rows`. */
export const rowAnchor = (index: number): string => `row-${index + 1}`

const rowId = (stats: Stats, ref: RowRef): string => rowAnchor(stats.comparison.rows.findIndex(r => r.endpoint === ref.endpoint && r.method === ref.method))

/** "over 21 days (2026-01-01 to 2026-01-21)", "over the last 7 days (…)", "over 1 day (2026-01-21)", HTML (a day never wraps). */
export function windowText (period: Stats['period']): string {
  const from = period.from as string
  const to = period.to as string
  const days = (Date.parse(to) - Date.parse(from)) / DAY_MS + 1
  const span = `${formatNumber(days)} day${days === 1 ? '' : 's'}`
  const day = (d: string): string => `<span class="day">${d}</span>`
  return `over ${period.days === null ? '' : 'the last '}${span} (${from === to ? day(from) : `${day(from)} to ${day(to)}`})`
}

const endpoints = (n: number): string => `${formatNumber(n)} endpoint${n === 1 ? '' : 's'}`

/**
 * What the last release changed, in one sentence, HTML: "<project> <latest> against <previous>: N endpoints slower
 * (…), M with more server errors (…), K faster / fewer errors (…), over <window>, from <a> and <b> installations",
 * each endpoint linked to its row. The release rule decides; this only counts and names what it marked.
 */
export function headline (stats: Stats): string {
  const k = stats.minInstallations
  const c = stats.comparison
  if (stats.period.from === null) return 'No activity yet.'
  const project = stats.title === null ? '' : `${e(stats.title)} `
  const over = windowText(stats.period)
  const installationsOn = (version: string): string => formatNumber((stats.versions.rows.find(v => v.version === version) as { installations: number }).installations)
  if (c.latest === null) return `${project}Not enough installations to compare releases (fewer than ${k} on every version), ${over}.`
  if (c.previous === null) {
    const why = stats.versions.belowFloor === 0 ? 'no previous release yet' : `not enough installations to compare (fewer than ${k} on every other version)`
    return `${project}${e(c.latest)}: ${why}, ${over}, from ${installationsOn(c.latest)} installations.`
  }
  const named = (refs: RowRef[]): string => refs.length === 0
    ? ''
    : ` (${refs.map(r => `<a href="#${rowId(stats, r)}">${e(`${r.method} ${r.endpoint}`)}</a>`).join(', ')})`
  const s = c.summary
  const better = [...s.faster, ...s.fewerErrors].filter((r, i, all) => all.findIndex(o => o.endpoint === r.endpoint && o.method === r.method) === i)
  const uncompared = c.rows.filter(r => Object.values(r.measures).every(m => m.test === 'none')).length
  return `${project}${e(c.latest)} against ${e(c.previous)}: ` +
    `<span class="${s.slower.length === 0 ? 'same' : 'worse'}">${endpoints(s.slower.length)} slower</span>${named(s.slower)}, ` +
    `<span class="${s.moreErrors.length === 0 ? 'same' : 'worse'}">${formatNumber(s.moreErrors.length)} with more server errors</span>${named(s.moreErrors)}, ` +
    `<span class="${better.length === 0 ? 'same' : 'better'}">${formatNumber(better.length)} faster / fewer errors</span>${named(better)}, ` +
    `${over}, from ${installationsOn(c.latest)} and ${installationsOn(c.previous)} installations.` +
    (uncompared === 0 ? '' : ` ${endpoints(uncompared)} not compared: not enough installations (fewer than ${k} on a side, or too few with enough responses).`)
}
