import { promisify } from 'node:util'
import { gunzip as gunzipCallback, inflate as inflateCallback } from 'node:zlib'
import { FST_TELEMETRY_COLLECTOR_BAD_BODY, FST_TELEMETRY_COLLECTOR_OVER_LIMIT } from './errors'
import { MAX_BATCH_BYTES } from './limits'

const gunzip = promisify(gunzipCallback)
const inflate = promisify(inflateCallback)
const utf8 = new TextDecoder('utf-8', { fatal: true })

async function decompressed (encoding: string, raw: Buffer): Promise<Buffer> {
  const decode = encoding === 'gzip' || encoding === 'x-gzip' ? gunzip : encoding === 'deflate' ? inflate : undefined
  if (decode === undefined) throw new FST_TELEMETRY_COLLECTOR_BAD_BODY(`unsupported Content-Encoding "${encoding}" (gzip, deflate or none)`)
  try {
    // maxOutputLength stops zlib as soon as the output would pass the limit: a bomb costs 500 KB, not memory.
    return await decode(raw, { maxOutputLength: MAX_BATCH_BYTES })
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code === 'ERR_BUFFER_TOO_LARGE') {
      throw new FST_TELEMETRY_COLLECTOR_OVER_LIMIT(`the decompressed body is over the batch limit of ${MAX_BATCH_BYTES} bytes (500 KB)`)
    }
    throw new FST_TELEMETRY_COLLECTOR_BAD_BODY(`the body is not valid ${encoding} data`)
  }
}

/** The JSON of a request body (at most 500 KB as sent, and at most 500 KB once decompressed), strictly UTF-8. */
export async function parseBody (encoding: string | undefined, raw: Buffer): Promise<unknown> {
  const normalized = (encoding ?? 'identity').trim().toLowerCase()
  const bytes = normalized === 'identity' || normalized === '' ? raw : await decompressed(normalized, raw)
  let text: string
  try {
    text = utf8.decode(bytes)
  } catch {
    throw new FST_TELEMETRY_COLLECTOR_BAD_BODY('the body is not valid UTF-8')
  }
  try {
    return JSON.parse(text)
  } catch {
    throw new FST_TELEMETRY_COLLECTOR_BAD_BODY('the body is not valid JSON')
  }
}
