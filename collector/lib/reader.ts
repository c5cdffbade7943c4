import { open, readdir, stat } from 'node:fs/promises'
import { join, resolve } from 'node:path'
import { isAscii } from 'node:buffer'
import { crc32, inflateRawSync } from 'node:zlib'
import { dayOf, isStoredFile, logsDir, sourceDir } from './storage/layout'

/** One gzip member of a stored file. */
export interface Member {
  /** Absolute path. */
  file: string
  /** Byte offset of the member's first byte. */
  offset: number
  /** Byte offset just past the member. */
  end: number
  /** NDJSON lines (no trailing newline), one event each. */
  lines: string[]
}

export interface TornMember { file: string, offset: number, reason: string }

export interface StoredFile { file: string, sourceId: string, receivedDay: number }

/** First read of a member; doubled while a member is longer (a commit holds many batches). */
const INITIAL_WINDOW = 1 << 20
const FLAGS_RESERVED = 0xe0
const FHCRC = 2
const FEXTRA = 4
const FNAME = 8
const FCOMMENT = 16

type Decoded = { member: Member } | { torn: string } | { more: true }

/** Offset just past a zero-terminated field from `from`, or -1 when the window ends first. */
function pastZero (buf: Buffer, from: number): number {
  if (from === -1) return -1
  const zero = buf.indexOf(0, from)
  return zero === -1 ? -1 : zero + 1
}

/** Where the deflate data starts (RFC 1952 header), why the header is bad, or -1 when the window is too short. */
function headerEnd (buf: Buffer): number | string {
  if (buf.length < 10) return -1
  if (buf[0] !== 0x1f || buf[1] !== 0x8b) return 'bad header: not gzip'
  if (buf[2] !== 8) return 'bad header: compression method is not deflate'
  const flags = buf[3]
  if ((flags & FLAGS_RESERVED) !== 0) return 'bad header: reserved flag bits set'
  let at = 10
  if ((flags & FEXTRA) !== 0) at = buf.length < 12 ? -1 : 12 + buf.readUInt16LE(10)
  if ((flags & FNAME) !== 0) at = pastZero(buf, at)
  if ((flags & FCOMMENT) !== 0) at = pastZero(buf, at)
  if ((flags & FHCRC) !== 0 && at !== -1 && buf.length >= at + 2) {
    if ((crc32(buf.subarray(0, at)) & 0xffff) !== buf.readUInt16LE(at)) return 'bad header: header CRC mismatch'
    at += 2
  } else if ((flags & FHCRC) !== 0) at = -1
  return at > buf.length ? -1 : at
}

/** Decodes the member at the start of `buf`; `atEof` says whether `buf` reaches the end of the file. */
function decode (buf: Buffer, file: string, offset: number, atEof: boolean): Decoded {
  const more: Decoded = atEof ? { torn: 'truncated' } : { more: true }
  const start = headerEnd(buf)
  if (typeof start === 'string') return { torn: start }
  if (start === -1) return more
  let inflated: Buffer
  let consumed: number
  try {
    const { buffer, engine } = inflateRawSync(buf.subarray(start), { info: true }) as unknown as { buffer: Buffer, engine: { bytesWritten: number } }
    inflated = buffer
    consumed = engine.bytesWritten
  } catch (error) {
    // zlib's Z_BUF_ERROR: the deflate stream did not end inside the window.
    if ((error as NodeJS.ErrnoException).code === 'Z_BUF_ERROR') return more
    return { torn: `bad deflate data: ${(error as Error).message}` }
  }
  const trailer = start + consumed
  if (buf.length < trailer + 8) return more
  if (buf.readUInt32LE(trailer) !== crc32(inflated)) return { torn: 'CRC mismatch' }
  if (buf.readUInt32LE(trailer + 4) !== (inflated.length % 2 ** 32)) return { torn: 'ISIZE mismatch' }
  // Most stored bytes are ASCII, which decodes as latin1 (a plain copy) to the same string, several times faster.
  const lines = inflated.toString(isAscii(inflated) ? 'latin1' : 'utf8').split('\n')
  if (lines.at(-1) === '') lines.pop()
  return { member: { file, offset, end: offset + trailer + 8, lines } }
}

/**
 * Members of one file from `fromOffset` (must be a member boundary). A torn or corrupt member (bad header, bad
 * deflate, CRC or ISIZE mismatch, truncated) is reported through `onTorn` and reading of that file stops there:
 * everything after a tear is untrusted. Never throws for bad data, only for I/O errors.
 */
export async function * readMembers (file: string, fromOffset = 0, onTorn?: (t: TornMember) => void): AsyncGenerator<Member> {
  const path = resolve(file)
  const handle = await open(path, 'r')
  try {
    const size = (await handle.stat()).size
    let offset = fromOffset
    let window = INITIAL_WINDOW
    while (offset < size) {
      const length = Math.min(window, size - offset)
      const buf = Buffer.allocUnsafe(length)
      const { bytesRead } = await handle.read(buf, 0, length, offset)
      const result = decode(buf.subarray(0, bytesRead), path, offset, offset + bytesRead >= size)
      if ('more' in result) {
        window *= 2
        continue
      }
      if ('torn' in result) {
        onTorn?.({ file: path, offset, reason: result.torn })
        return
      }
      yield result.member
      offset = result.member.end
      window = INITIAL_WINDOW
    }
  } finally {
    await handle.close()
  }
}

async function subdirectories (dir: string): Promise<string[]> {
  const entries = await readdir(dir, { withFileTypes: true })
  return entries.filter(entry => entry.isDirectory()).map(entry => entry.name).sort()
}

async function exists (path: string): Promise<boolean> {
  return stat(path).then(s => s.isDirectory(), () => false)
}

/** The `segment-logs` directory of a data dir, or the dir itself when it is one (a Segment S3 sync of that folder). */
export async function logsRoot (dir: string): Promise<string> {
  const root = resolve(dir)
  return await exists(logsDir(root)) ? logsDir(root) : root
}

/**
 * Every stored file under a data dir (`<dir>/segment-logs/<sourceId>/<receivedDay>/*.gz`; the segment-logs dir
 * itself is accepted too), sorted by source id, day, file name. Day directories whose name is not a number of
 * milliseconds are not Segment's and are skipped.
 */
export async function listFiles (dir: string): Promise<StoredFile[]> {
  const logs = await logsRoot(dir)
  const files: StoredFile[] = []
  for (const sourceId of await subdirectories(logs)) {
    const source = sourceDir(logs, sourceId)
    const days = (await subdirectories(source)).filter(day => dayOf(day) !== undefined)
    for (const day of days.sort((a, b) => Number(a) - Number(b))) {
      const names = (await readdir(join(source, day), { withFileTypes: true }))
        .filter(entry => entry.isFile() && isStoredFile(entry.name)).map(entry => entry.name).sort()
      for (const name of names) files.push({ file: join(source, day, name), sourceId, receivedDay: dayOf(day) as number })
    }
  }
  return files
}

/** The JSON object a line holds, or undefined when it holds something else or is no JSON. */
export function parseObject (line: string): Record<string, unknown> | undefined {
  try {
    const value: unknown = JSON.parse(line)
    return typeof value === 'object' && value !== null && !Array.isArray(value) ? value as Record<string, unknown> : undefined
  } catch {
    return undefined
  }
}

/**
 * Every stored event (parsed JSON object) under `dir`, in file order. Torn members are skipped and reported; so is
 * a line of an intact member that is not a JSON object (only a foreign writer makes one), and the member goes on.
 */
export async function * readEvents (dir: string, options: { onTorn?: (t: TornMember) => void } = {}): AsyncGenerator<Record<string, unknown>> {
  for (const { file } of await listFiles(dir)) {
    for await (const member of readMembers(file, 0, options.onTorn)) {
      for (const [index, line] of member.lines.entries()) {
        const event = parseObject(line)
        if (event === undefined) options.onTorn?.({ file, offset: member.offset, reason: `line ${index + 1} of the member is not a JSON object` })
        else yield event
      }
    }
  }
}
