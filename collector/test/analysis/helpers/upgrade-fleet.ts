import { bucketsWith, mergeFleets, uniformFleet, type FleetSpec, type TrafficSpec } from './fleet-db'

export const DAYS = ['2026-01-01', '2026-01-02', '2026-01-03']

/**
 * 16 installations run 1.0.0 on days 1 and 2 and upgrade on day 3 to 1.1.0 (new instances, same installations):
 * GET /items got slower (bucket 7, not 4) and answers 5 % 503, GET /fast got faster (bucket 2), POST /items is
 * unchanged, and GET /new is used by 1.1.0 alone. Features: 10 store in postgres, 6 in sqlite; every report counts 3
 * exports at 12 installations (0 at the other 4), and 1.1.0 adds imports, used by 8.
 */
export function upgrade (): FleetSpec {
  const before: TrafficSpec[] = [{ endpoint: '/items', method: 'GET', requests: 1500 }, { endpoint: '/fast', method: 'GET', requests: 200 }, { endpoint: '/items', method: 'POST', requests: 200 }]
  const after: TrafficSpec[] = [
    { endpoint: '/items', method: 'GET', requests: 1500, status: { 200: 1425, 503: 75 }, latency: bucketsWith([7, 1500]) },
    { endpoint: '/fast', method: 'GET', requests: 200, latency: bucketsWith([2, 200]) },
    before[2],
    { endpoint: '/new', method: 'GET', requests: 200 }
  ]
  const facts = (i: number): Record<string, string> => ({ storage: i < 10 ? 'postgres' : 'sqlite' })
  const old = uniformFleet(16, { prefix: 'u', version: '1.0.0', days: DAYS.slice(0, 2), traffic: before, features: i => ({ facts: facts(i), uses: { exports: i < 12 ? 3 : 0 } }) })
  const upgraded = uniformFleet(16, { prefix: 'u', version: '1.1.0', days: DAYS.slice(2), traffic: after, features: i => ({ facts: facts(i), uses: { exports: i < 12 ? 3 : 0, imports: i < 8 ? 1 : 0 } }) })
  for (const i of upgraded.instances) i.instanceId += '-new'
  for (const r of upgraded.reports) { r.instanceId += '-new'; r.reportId += '-new' }
  return mergeFleets(old, upgraded)
}
