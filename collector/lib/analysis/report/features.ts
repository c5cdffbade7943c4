import type { DuckDBConnection } from '@duckdb/node-api'
import { rows as query } from '../db'
import type { Floor } from './floor'
import { inWindow, type Window } from './window'
import type { Counter, CounterUse, Fact, Features } from './stats-types'
import { boundLabel } from './text'

const num = (value: unknown): number => Number(value)
const str = (value: unknown): string => String(value)

/**
 * The features section: facts and counters over the window, from the instance-day tables (an installation counts
 * once however many days and instances it reported on). `versions` are the published ones, oldest first; the latest
 * is the newest of them, as in the release comparison. A fact or counter shows when at least k installations reported
 * it, a value when k reported it; every figure from fewer than k installations is null.
 */
export async function featuresOf (connection: DuckDBConnection, floor: Floor, window: Window, versions: string[]): Promise<Features> {
  const latest = versions.at(-1) ?? null
  // The latest version is bound as a parameter; without one, no row is on it.
  const onLatest = latest === null ? 'false' : 'version = $1'
  const params = latest === null ? [] : [latest]
  const counted = `count(DISTINCT anonymous_id) AS installations, count(DISTINCT anonymous_id) FILTER (WHERE ${onLatest}) AS latest`
  const totals = new Map((await query(connection, `SELECT name, ${counted} FROM daily_instance_facts WHERE ${inWindow(window)} GROUP BY name ORDER BY name`, params))
    .map(r => [str(r.name), { all: num(r.installations), latest: num(r.latest) }]))
  const values = await query(connection, `SELECT name, value, ${counted} FROM daily_instance_facts WHERE ${inWindow(window)}
    GROUP BY name, value ORDER BY name, installations DESC, value`, params)
  const facts: Fact[] = []
  for (const [name, total] of totals) {
    if (total.all < floor.k) continue
    const all = values.filter(r => r.name === name).map(r => ({
      value: boundLabel(str(r.value)),
      installations: num(r.installations),
      share: num(r.installations) / total.all,
      latest: { installations: floor.count(num(r.latest)), share: floor.when(num(r.latest), num(r.latest) / total.latest) }
    }))
    facts.push({ name: boundLabel(name), installations: { all: total.all, latest: floor.count(total.latest) }, values: floor.rows(all) })
  }
  return {
    latest: latest === null ? null : boundLabel(latest),
    facts: { rows: facts, belowFloor: totals.size - facts.length },
    counters: await countersOf(connection, floor, window, versions)
  }
}

type Row = Record<string, unknown>
/** Rows grouped by their `name` (Map.groupBy is not in Node.js 20). */
function byName (rows: Row[]): Map<string, Row[]> {
  const out = new Map<string, Row[]>()
  for (const r of rows) {
    const group = out.get(str(r.name)) ?? []
    out.set(str(r.name), group)
    group.push(r)
  }
  return out
}

interface Use { installations: number, using: number, uses: number }
const useOf = (r: Row): Use => ({ installations: num(r.installations), using: num(r.installations_using), uses: num(r.uses) })

/**
 * Per counter: the installations that reported it, those that used it (uses > 0 on any day), the share using
 * (using / reporting) and the uses, over all versions and per published version; and per day and version, from
 * `daily_features`, the installations using it and the uses. Counters most used first.
 */
async function countersOf (connection: DuckDBConnection, floor: Floor, window: Window, versions: string[]): Promise<Features['counters']> {
  const sums = 'count(DISTINCT anonymous_id) AS installations, count(DISTINCT anonymous_id) FILTER (WHERE uses > 0) AS installations_using, sum(uses) AS uses'
  const all = await query(connection, `SELECT name, ${sums} FROM daily_instance_features WHERE ${inWindow(window)} GROUP BY name ORDER BY name`)
  const perVersion = byName(await query(connection, `SELECT name, version, ${sums} FROM daily_instance_features WHERE ${inWindow(window)} GROUP BY name, version`))
  const daily = byName(await query(connection, `SELECT day::VARCHAR AS day, version, name, installations_using, uses FROM daily_features
    WHERE ${inWindow(window)} ORDER BY day`))
  const figures = (u: Use): CounterUse =>
    ({ using: floor.count(u.using), share: floor.when(u.using, u.using / u.installations), uses: floor.when(u.using, u.uses) })
  const counters: Counter[] = []
  for (const r of all) {
    const total = useOf(r)
    if (total.installations < floor.k) continue
    const name = str(r.name)
    const byVersion = new Map((perVersion.get(name) as Row[]).map(v => [str(v.version), useOf(v)]))
    const shown = versions.filter(v => (byVersion.get(v)?.installations ?? 0) >= floor.k)
    const days = [...new Set((daily.get(name) as Row[]).map(d => str(d.day)))]
    const cell = new Map((daily.get(name) as Row[]).map(d => [`${str(d.day)} ${str(d.version)}`, d]))
    counters.push({
      name: boundLabel(name),
      installations: total.installations,
      ...figures(total),
      versions: {
        rows: shown.map(version => ({ version: boundLabel(version), installations: (byVersion.get(version) as Use).installations, ...figures(byVersion.get(version) as Use) })),
        belowFloor: byVersion.size - shown.length
      },
      usesPerDay: days.map(day => ({
        day,
        versions: shown.map(version => {
          const d = cell.get(`${day} ${version}`)
          const using = d === undefined ? 0 : num(d.installations_using)
          return { version: boundLabel(version), using: floor.count(using), uses: floor.when(using, num(d?.uses)) }
        })
      }))
    })
  }
  const used = (c: Counter): number => c.using ?? 0
  // Stable: counters of the same published use stay in name order.
  counters.sort((a, b) => used(b) - used(a))
  return { rows: counters, belowFloor: all.length - counters.length }
}
