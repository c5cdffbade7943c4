import { randomBytes } from 'node:crypto'
import { mkdir, open, stat } from 'node:fs/promises'
import { dirname, join } from 'node:path'

const DAY_MS = 86_400_000

/** Segment's `<receivedDay>`: Unix milliseconds of the UTC midnight of the day `ms` falls in. */
export function receivedDay (ms: number): number {
  return ms - (ms % DAY_MS)
}

/** Where a data dir holds Segment's layout (a Segment S3 sync may also be this directory itself). */
export function logsDir (dataDir: string): string {
  return join(dataDir, 'segment-logs')
}

/** A source's directory in a `segment-logs` directory. */
export function sourceDir (logs: string, sourceId: string): string {
  return join(logs, sourceId)
}

export function dayDir (dataDir: string, sourceId: string, day: number): string {
  return join(sourceDir(logsDir(dataDir), sourceId), String(day))
}

/** The `<receivedDay>` a day directory's name stands for, or undefined when the directory is not Segment's. */
export function dayOf (name: string): number | undefined {
  return /^\d+$/.test(name) ? Number(name) : undefined
}

/** Whether a file in a day directory is a stored file (gzip members of NDJSON). */
export function isStoredFile (name: string): boolean {
  return name.endsWith('.gz')
}

/**
 * `<creation ms, 13 digits>.<random>.gz`: names sort in creation order, and a restarted collector never appends
 * to a file a crash may have torn.
 */
export function fileName (now: number): string {
  return `${String(now).padStart(13, '0')}.${randomBytes(4).toString('hex')}.gz`
}

/** Makes a directory entry durable: the file or directory created in `dir` survives a crash. */
export async function syncDir (dir: string): Promise<void> {
  const handle = await open(dir, 'r')
  try {
    await handle.sync()
  } finally {
    await handle.close()
  }
}

/** Creates `dir`; false when it is a directory already. */
async function created (dir: string): Promise<boolean> {
  try {
    await mkdir(dir)
    return true
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code === 'EEXIST' && (await stat(dir)).isDirectory()) return false
    throw error
  }
}

/**
 * Creates `dir` and its missing parents, syncing the parent of each one created. Not `mkdir(dir, { recursive: true })`:
 * where a parent exists but refuses new entries with ENOENT (`/proc`), Node retries that forever at half a core.
 */
export async function ensureDir (dir: string): Promise<void> {
  try {
    if (!await created(dir)) return
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code !== 'ENOENT') throw error
    await ensureDir(dirname(dir))
    // A second ENOENT, the parent being there, is final; another process creating it meanwhile is fine.
    await created(dir)
  }
  await syncDir(dirname(dir))
}
