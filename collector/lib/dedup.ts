/**
 * The `messageId`s of the last `capacity` stored events, least recently seen dropped first (a Map keeps insertion
 * order). It can only forget: a forgotten duplicate is stored twice (exact dedup happens at ingest), a new event is
 * never mistaken for one. Memory: about 150 bytes per entry (a 128-hex source-scoped key and the Map slot).
 */
export class RecentIds {
  private readonly ids = new Map<string, true>()

  constructor (private readonly capacity: number) {}

  has (id: string): boolean {
    if (!this.ids.has(id)) return false
    this.ids.delete(id)
    this.ids.set(id, true)
    return true
  }

  add (id: string): void {
    if (this.capacity === 0) return
    this.ids.delete(id)
    this.ids.set(id, true)
    if (this.ids.size > this.capacity) this.ids.delete(this.ids.keys().next().value as string)
  }

  get size (): number {
    return this.ids.size
  }
}
