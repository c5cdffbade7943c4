import { createHash, timingSafeEqual } from 'node:crypto'
import type { WriteKey } from './options'

const digest = (key: string): Buffer => createHash('sha256').update(key).digest()

/**
 * Write key → source id, in constant time: the presented key is hashed (equal lengths for timingSafeEqual) and
 * compared with every configured key, with no early exit, so timing tells neither a key nor which one matched.
 */
export class Keys {
  private readonly digests: Array<{ digest: Buffer, sourceId: string }>

  constructor (keys: Array<Required<WriteKey>>) {
    this.digests = keys.map(({ writeKey, sourceId }) => ({ digest: digest(writeKey), sourceId }))
  }

  sourceIdOf (key: string): string | undefined {
    const presented = digest(key)
    let found: string | undefined
    for (const { digest, sourceId } of this.digests) {
      if (timingSafeEqual(presented, digest)) found = sourceId
    }
    return found
  }
}

/** The user name of an HTTP Basic `Authorization` header (Segment's write key; the password is ignored), or undefined. */
export function basicUser (header: string): string | undefined {
  const match = /^Basic +([A-Za-z0-9+/=]+)$/i.exec(header)
  if (match === null) return undefined
  const decoded = Buffer.from(match[1], 'base64').toString('utf8')
  const colon = decoded.indexOf(':')
  return colon === -1 ? undefined : decoded.slice(0, colon)
}
