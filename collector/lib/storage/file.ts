import { open, type FileHandle } from 'node:fs/promises'
import { join } from 'node:path'
import { dayDir, ensureDir, fileName, syncDir } from './layout'

/** One file being appended to: only whole gzip members are written, at its end. */
export class StoredFile {
  private constructor (readonly path: string, readonly day: number, private readonly handle: FileHandle, public size: number) {}

  /** Creates a new file in the day's directory and syncs the directory, so that a 200 never points at a lost name. */
  static async create (dataDir: string, sourceId: string, day: number, now: number): Promise<StoredFile> {
    const dir = dayDir(dataDir, sourceId, day)
    await ensureDir(dir)
    const path = join(dir, fileName(now))
    const handle = await open(path, 'wx')
    /* c8 ignore start -- fsync of a directory just written to fails only when the disk does; the handle must not leak then */
    await syncDir(dir).catch(async (error: Error) => {
      await handle.close()
      throw error
    })
    /* c8 ignore stop */
    return new StoredFile(path, day, handle, 0)
  }

  /** Writes one member at the end; on failure, cuts the file back so that no partial member is left behind. */
  async append (member: Buffer): Promise<void> {
    try {
      let written = 0
      while (written < member.length) {
        const { bytesWritten } = await this.handle.write(member, written, member.length - written, this.size + written)
        written += bytesWritten
      }
      this.size += member.length
    } catch (error) {
      await this.handle.truncate(this.size).catch(() => {})
      throw error
    }
  }

  /** fdatasync: the data and the new size reach the disk (the size is needed to read the data back). */
  async sync (): Promise<void> {
    await this.handle.datasync()
  }

  async close (): Promise<void> {
    await this.handle.close()
  }
}
