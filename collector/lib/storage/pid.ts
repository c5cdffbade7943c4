import { readFile, rm, writeFile } from 'node:fs/promises'
import { logsRoot, type StoredFile } from '../reader'
import { pidFile } from './layout'

// A receiver keeps one file open per source, appending to it until it passes the size limit or the source's first
// batch of a later day arrives: until then, even yesterday's file may grow. Its pid file tells the tools that delete
// or rewrite stored files (forget, prune) that it runs, so that they leave each source's newest file alone.

/** Written when the storage starts: this process writes to `logs`. */
export async function writePidFile (logs: string): Promise<void> {
  await writeFile(pidFile(logs), `${process.pid}\n`)
}

/** Removed on close, unless another receiver started on the same directory since and wrote its own. */
export async function removePidFile (logs: string): Promise<void> {
  const pid = await readFile(pidFile(logs), 'utf8').catch(() => '')
  if (Number(pid) === process.pid) await rm(pidFile(logs), { force: true })
}

/**
 * Whether a receiver runs on a data dir: its pid file names a live process (one of another user counts: signalling it
 * is refused, not missing). A receiver killed without closing leaves a pid file naming a process that is gone.
 */
export async function receiverRuns (dir: string): Promise<boolean> {
  const pid = Number(await readFile(pidFile(await logsRoot(dir)), 'utf8').catch(() => 'none'))
  if (!Number.isSafeInteger(pid) || pid <= 0) return false
  try {
    process.kill(pid, 0)
    return true
  } catch (error) {
    return (error as NodeJS.ErrnoException).code === 'EPERM'
  }
}

/**
 * The files of `files` (listFiles of one data dir: by source, day, name) that a receiver may still append to: each
 * source's newest, when one runs on the directory. The others are finished: their source has a newer file.
 */
export function stillOpen (files: StoredFile[], running: boolean): Set<string> {
  const newest = new Map<string, string>()
  if (running) for (const { sourceId, file } of files) newest.set(sourceId, file)
  return new Set(newest.values())
}
