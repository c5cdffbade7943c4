import { randomBytes } from 'node:crypto'
import { open, unlink } from 'node:fs/promises'
import { join } from 'node:path'
import { promisify } from 'node:util'
import { gzip as gzipCallback } from 'node:zlib'
import { StoredFile } from './file'
import { ensureDir, logsDir, receivedDay } from './layout'
import { removePidFile, writePidFile } from './pid'

const gzip = promisify(gzipCallback)

interface Pending {
  sourceId: string
  day: number
  text: string
  resolve: () => void
  reject: (error: Error) => void
}

export interface StorageOptions {
  maxFileBytes: number
  gzipLevel: number
  /** The clock; tests move it across midnight. */
  now?: () => number
}

export interface StorageStats {
  commits: number
  fsyncs: number
  files: number
}

/**
 * Durable append-only storage in Segment's S3 layout, with group commit: batches that arrive while a commit is
 * being written wait for the next one, which writes all of them as one gzip member per file and syncs each file
 * once. A batch's promise resolves only after its member is synced (and the directory of a new file), so a 200
 * means it is on disk; a crash can tear only the member being written, whose batches were not answered.
 */
export class Storage {
  readonly stats: StorageStats = { commits: 0, fsyncs: 0, files: 0 }
  private pending: Pending[] = []
  private committing: Promise<void> | undefined
  private readonly open = new Map<string, StoredFile>()
  private closed = false
  private readonly now: () => number

  constructor (readonly dataDir: string, private readonly options: StorageOptions) {
    this.now = options.now ?? Date.now
  }

  async start (): Promise<void> {
    await ensureDir(logsDir(this.dataDir))
    await writePidFile(logsDir(this.dataDir))
  }

  /** Stores one batch's lines (one member holds them all: a batch is all or nothing). */
  async append (sourceId: string, lines: string[], receivedAt: number): Promise<void> {
    if (this.closed) throw new Error('the storage is closed')
    const done = new Promise<void>((resolve, reject) => {
      this.pending.push({ sourceId, day: receivedDay(receivedAt), text: lines.join('\n') + '\n', resolve, reject })
    })
    this.committing ??= this.commitAll()
    return await done
  }

  private async commitAll (): Promise<void> {
    while (this.pending.length > 0) {
      const batches = this.pending
      this.pending = []
      await this.commit(batches)
    }
    this.committing = undefined
  }

  private async commit (batches: Pending[]): Promise<void> {
    this.stats.commits++
    const byFile = new Map<string, Pending[]>()
    for (const batch of batches) {
      const key = `${batch.sourceId}/${batch.day}`
      const group = byFile.get(key)
      if (group === undefined) byFile.set(key, [batch])
      else group.push(batch)
    }
    await Promise.all([...byFile.values()].map(async group => await this.commitFile(group)))
  }

  private async commitFile (group: Pending[]): Promise<void> {
    const { sourceId, day } = group[0]
    const key = `${sourceId}/${day}`
    try {
      const member = await gzip(group.map(batch => batch.text).join(''), { level: this.options.gzipLevel })
      const file = await this.fileFor(sourceId, day, key, member.length)
      try {
        await file.append(member)
        await file.sync()
        this.stats.fsyncs++
      } catch (error) {
        // The file may hold a partial member (truncate is best effort): nothing more goes after it.
        this.open.delete(key)
        await file.close().catch(() => {})
        throw error
      }
      for (const batch of group) batch.resolve()
    } catch (error) {
      for (const batch of group) batch.reject(error as Error)
    }
  }

  /** The file a member of `bytes` goes to: rotated by size, and a new day closes the source's older days. */
  private async fileFor (sourceId: string, day: number, key: string, bytes: number): Promise<StoredFile> {
    const current = this.open.get(key)
    if (current !== undefined && current.size + bytes <= this.options.maxFileBytes) return current
    if (current !== undefined) {
      this.open.delete(key)
      await current.close()
    }
    for (const [other, file] of this.open) {
      if (other.startsWith(`${sourceId}/`) && file.day < day) {
        this.open.delete(other)
        await file.close()
      }
    }
    const file = await StoredFile.create(this.dataDir, sourceId, day, this.now())
    this.stats.files++
    this.open.set(key, file)
    return file
  }

  /** Whether a file can be created in the data directory now: what /health answers 503 on. */
  async writable (): Promise<boolean> {
    const probe = join(this.dataDir, `.health-${randomBytes(8).toString('hex')}`)
    try {
      await (await open(probe, 'wx')).close()
      await unlink(probe)
      return true
    } catch {
      return false
    }
  }

  /** Waits for the commit in progress, then closes every file (each already synced). Later appends are refused. */
  async close (): Promise<void> {
    this.closed = true
    await this.committing
    for (const file of this.open.values()) await file.close()
    this.open.clear()
    await removePidFile(logsDir(this.dataDir))
  }
}
