/**
 * The privacy floor: a figure is published only when at least k distinct installations are behind it, and a
 * row's label only when its row is; hidden rows are only counted.
 */
export interface Floor {
  readonly k: number
  /** n itself when n ≥ k, else null ("fewer than k"). */
  count (n: number): number | null
  /** value when n ≥ k, else null. */
  when<T> (n: number, value: T): T | null
  /** The rows with at least k installations, and how many rows were left out. */
  rows<T extends { installations: number }> (rows: readonly T[]): { rows: T[], belowFloor: number }
}

export function createFloor (k: number): Floor {
  const when = <T>(n: number, value: T): T | null => n >= k ? value : null
  return {
    k,
    count: n => when(n, n),
    when,
    rows (rows) {
      const kept = rows.filter(r => r.installations >= k)
      return { rows: kept, belowFloor: rows.length - kept.length }
    }
  }
}
