// A failed command says what it could not do, with which path, and why, in one line: an operator reading a cron mail
// or a journal should not need to know what ENOENT or scandir mean.

/** What the system call was doing, as a verb phrase. */
const ACTIONS: Record<string, string> = {
  mkdir: 'create the directory',
  scandir: 'read the directory',
  opendir: 'read the directory',
  open: 'open',
  stat: 'read',
  unlink: 'delete',
  rename: 'replace'
}

/** Why, in words. */
const CAUSES: Record<string, string> = {
  ENOENT: 'it does not exist',
  EACCES: 'permission denied',
  EPERM: 'the operation is not permitted',
  EEXIST: 'a file of that name is in the way',
  ENOTDIR: 'it or a part of its path is a file, not a directory',
  EISDIR: 'it is a directory',
  EROFS: 'the file system is read-only',
  ENOSPC: 'the disk is full',
  EDQUOT: 'the disk quota is used up',
  EMFILE: 'too many open files',
  ENAMETOOLONG: 'the name is too long',
  ELOOP: 'too many symbolic links'
}

/** Where creating a directory fails with ENOENT although its parent exists, the parent takes no new entries (`/proc`). */
const MKDIR_ENOENT = 'its parent does not exist or takes no new directories'

/** One line saying what failed: for a system call its action, path and cause in words; otherwise the error's message. */
export function inWords (error: unknown): string {
  const { code, syscall, path, message } = error as NodeJS.ErrnoException
  if (path !== undefined && code !== undefined) {
    const cause = syscall === 'mkdir' && code === 'ENOENT' ? MKDIR_ENOENT : CAUSES[code] ?? code
    return `cannot ${ACTIONS[syscall as string] ?? syscall} ${path}: ${cause}`
  }
  return message.split('\n')[0].replace(/^fastify-anonymous-telemetry-collector: /, '')
}
