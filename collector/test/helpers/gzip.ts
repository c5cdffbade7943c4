import { crc32, gzipSync } from 'node:zlib'

export interface HeaderFields {
  extra?: Buffer
  name?: string
  comment?: string
  headerCrc?: boolean | number
}

/** One gzip member of `text`, optionally with the RFC 1952 header fields zlib never writes. */
export function member (text: string, fields: HeaderFields = {}, level = 6): Buffer {
  const plain = gzipSync(text, { level })
  if (Object.keys(fields).length === 0) return plain
  const header = Buffer.from(plain.subarray(0, 10))
  const parts: Buffer[] = [header]
  let flags = 0
  if (fields.extra !== undefined) {
    flags |= 4
    const length = Buffer.alloc(2)
    length.writeUInt16LE(fields.extra.length)
    parts.push(length, fields.extra)
  }
  if (fields.name !== undefined) {
    flags |= 8
    parts.push(Buffer.from(fields.name + '\0', 'latin1'))
  }
  if (fields.comment !== undefined) {
    flags |= 16
    parts.push(Buffer.from(fields.comment + '\0', 'latin1'))
  }
  header[3] = flags
  if (fields.headerCrc !== undefined) {
    header[3] |= 2
    const crc = Buffer.alloc(2)
    crc.writeUInt16LE(fields.headerCrc === true ? crc32(Buffer.concat(parts)) & 0xffff : Number(fields.headerCrc))
    parts.push(crc)
  }
  return Buffer.concat([...parts, plain.subarray(10)])
}

/** NDJSON of `events`, one line each, newline-terminated as the storage writes it. */
export function ndjson (events: object[]): string {
  return events.map(event => JSON.stringify(event) + '\n').join('')
}
