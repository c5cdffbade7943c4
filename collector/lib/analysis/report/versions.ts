/** An app version as the report sees it: its string and the first day it was active. */
export interface SeenVersion { version: string, firstDay: string }

type Semver = [number, number, number, string[]]

const SEMVER = /^v?(0|[1-9]\d*)\.(0|[1-9]\d*)\.(0|[1-9]\d*)(?:-([0-9A-Za-z.-]+))?(?:\+[0-9A-Za-z.-]+)?$/

function parse (version: string): Semver | null {
  const m = SEMVER.exec(version)
  return m === null ? null : [Number(m[1]), Number(m[2]), Number(m[3]), m[4] === undefined ? [] : m[4].split('.')]
}

// Semver 2.0 §11: a pre-release sorts before its release; identifiers compare numerically when both are numeric,
// numeric ones sort before alphanumeric ones, and a longer list wins when all shared identifiers are equal.
function comparePre (a: string[], b: string[]): number {
  if (a.length === 0 || b.length === 0) return b.length - a.length
  for (let i = 0; i < Math.min(a.length, b.length); i++) {
    const na = /^\d+$/.test(a[i])
    const nb = /^\d+$/.test(b[i])
    if (na && nb && Number(a[i]) !== Number(b[i])) return Number(a[i]) - Number(b[i])
    if (na !== nb) return na ? -1 : 1
    if (a[i] !== b[i]) return a[i] < b[i] ? -1 : 1
  }
  return a.length - b.length
}

function compareSemver (a: Semver, b: Semver): number {
  return a[0] - b[0] || a[1] - b[1] || a[2] - b[2] || comparePre(a[3], b[3])
}

/**
 * Versions oldest first: every version that parses as semver is newer than every one that does not, semver ones
 * in semver order, the others by first appearance (then by string, for a stable order).
 */
export function orderVersions<T extends SeenVersion> (versions: readonly T[]): T[] {
  const byAppearance = (a: T, b: T): number =>
    a.firstDay === b.firstDay ? (a.version < b.version ? -1 : 1) : (a.firstDay < b.firstDay ? -1 : 1)
  return versions.map(v => ({ v, semver: parse(v.version) })).sort((a, b) => {
    if (a.semver === null || b.semver === null) {
      return a.semver === b.semver ? byAppearance(a.v, b.v) : (a.semver === null ? -1 : 1)
    }
    return compareSemver(a.semver, b.semver) || byAppearance(a.v, b.v)
  }).map(x => x.v)
}
