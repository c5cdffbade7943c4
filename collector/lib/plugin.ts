import type { FastifyError, FastifyInstance, FastifyReply, FastifyRequest } from 'fastify'
import fp from 'fastify-plugin'
import { parseBody } from './body'
import { bump, newCounts, type CollectorCounts } from './counts'
import { RecentIds } from './dedup'
import {
  FST_TELEMETRY_COLLECTOR_BAD_BODY, FST_TELEMETRY_COLLECTOR_INVALID_OPTION, FST_TELEMETRY_COLLECTOR_NOT_STORED,
  FST_TELEMETRY_COLLECTOR_OVER_LIMIT, FST_TELEMETRY_COLLECTOR_UNAUTHORIZED
} from './errors'
import { accept, incoming, type Accepted, type Endpoint } from './events'
import { Keys, basicUser } from './keys'
import { MAX_BATCH_BYTES } from './limits'
import { settingsFrom, type CollectorOptions } from './options'
import { Schemas } from './schemas'
import { Storage, type StorageStats } from './storage/storage'
import { UnknownKeys } from './unknown-keys'

/** `app.telemetryCollector`: what the collector has done since it started. */
export interface TelemetryCollector {
  readonly dataDir: string
  readonly counts: CollectorCounts
  readonly storage: StorageStats
}

declare module 'fastify' {
  interface FastifyInstance {
    telemetryCollector: TelemetryCollector
  }
}

/** Fastify's request log serializer without `remoteAddress`/`remotePort`/`host`: no address is ever logged. */
export function requestWithoutAddress (request: FastifyRequest): { method: string, url: string } {
  return { method: request.method, url: request.url }
}

const ENDPOINTS: Endpoint[] = ['batch', 'identify', 'track']

interface Answer { statusCode: number, code: string, message: string }

/** Every refusal is a JSON error naming its reason; Fastify's own body errors become Segment-style 400s. */
function answerFor (error: FastifyError): Answer {
  if (error.code?.startsWith('FST_TELEMETRY_COLLECTOR_')) return { statusCode: error.statusCode as number, code: error.code, message: error.message }
  if (error.code === 'FST_ERR_CTP_BODY_TOO_LARGE') {
    const { code, message } = new FST_TELEMETRY_COLLECTOR_OVER_LIMIT(`the body is over the batch limit of ${MAX_BATCH_BYTES} bytes (500 KB)`)
    return { statusCode: 400, code, message }
  }
  if (error.code === 'FST_ERR_CTP_INVALID_MEDIA_TYPE') {
    const { code, message } = new FST_TELEMETRY_COLLECTOR_BAD_BODY('Content-Type must be application/json')
    return { statusCode: 400, code, message }
  }
  if (error.statusCode !== undefined && error.statusCode >= 400 && error.statusCode < 500) {
    const { code, message } = new FST_TELEMETRY_COLLECTOR_BAD_BODY(error.message)
    return { statusCode: 400, code, message }
  }
  return { statusCode: 500, code: 'FST_TELEMETRY_COLLECTOR_INTERNAL', message: 'internal error' }
}

async function telemetryCollector (app: FastifyInstance, options: CollectorOptions & { prefix?: string }): Promise<void> {
  const settings = settingsFrom(options)
  const storage = new Storage(settings.dataDir, settings)
  try {
    await storage.start()
  } catch (error) {
    throw new FST_TELEMETRY_COLLECTOR_INVALID_OPTION('dataDir', 'a directory the collector can create and write', `${settings.dataDir} (${(error as Error).message})`)
  }
  const keys = new Keys(settings.writeKeys)
  const schemas = new Schemas()
  const counts = newCounts()
  const recent = new RecentIds(settings.dedupEntries)
  const unknownKeys = new UnknownKeys(counts.unknownKeys, settings.writeKeys.map(key => key.sourceId), app.log, settings.now)
  const sourceIds = new WeakMap<FastifyRequest, string>()
  app.decorate('telemetryCollector', { dataDir: settings.dataDir, counts, storage: storage.stats })
  app.addHook('onClose', async () => {
    unknownKeys.close()
    await storage.close()
  })

  /** The source id of a presented key; a key that is not configured is counted and warned about, then refused. */
  function known (key: string | undefined, refusal: string): string {
    const sourceId = key === undefined ? undefined : keys.sourceIdOf(key)
    if (sourceId !== undefined) return sourceId
    if (key !== undefined) unknownKeys.refused(key)
    throw new FST_TELEMETRY_COLLECTOR_UNAUTHORIZED(refusal)
  }

  function sourceIdOf (request: FastifyRequest, bodyKey: string | undefined): string {
    return sourceIds.get(request) ?? known(bodyKey, 'a write key is required: HTTP Basic user name, or writeKey in the body')
  }

  async function receive (request: FastifyRequest, endpoint: Endpoint): Promise<{ success: true }> {
    const now = settings.now()
    const body = incoming(request.body, endpoint)
    const sourceId = sourceIdOf(request, body.writeKey)
    const receivedAt = new Date(now).toISOString()
    const sentAt = body.sentAt ?? receivedAt
    const events = body.events.map((event, index) => accept(event, index, schemas, receivedAt, sentAt))
    const fresh: Accepted[] = []
    const inBatch = new Set<string>()
    for (const event of events) {
      const id = `${sourceId}\n${event.messageId}`
      if (recent.has(id) || inBatch.has(id)) continue
      inBatch.add(id)
      fresh.push(event)
    }
    counts.duplicates += events.length - fresh.length
    if (fresh.length > 0) {
      try {
        await storage.append(sourceId, fresh.map(event => event.line), now)
      } catch (error) {
        throw new FST_TELEMETRY_COLLECTOR_NOT_STORED((error as Error).message)
      }
      // Remembered only once stored: a batch that failed must not be taken for a duplicate when it is resent.
      for (const id of inBatch) recent.add(id)
    }
    counts.batches++
    counts.accepted += fresh.length
    for (const event of fresh) if (event.unknownVersion !== undefined) bump(counts.unknownSchemaVersions, String(event.unknownVersion))
    return { success: true }
  }

  await app.register(async routes => {
    routes.removeAllContentTypeParsers()
    routes.addContentTypeParser('application/json', { parseAs: 'buffer', bodyLimit: MAX_BATCH_BYTES }, (request, raw, done) => {
      parseBody(request.headers['content-encoding'], raw as Buffer).then(body => done(null, body), done)
    })

    // A wrong key in the header is refused before the body is read or decompressed.
    routes.addHook('onRequest', async request => {
      const header = request.headers.authorization
      if (header === undefined || request.method !== 'POST') return
      sourceIds.set(request, known(basicUser(header), 'unknown write key (HTTP Basic: the key as user name, empty password)'))
    })

    routes.setErrorHandler((error: FastifyError, request: FastifyRequest, reply: FastifyReply) => {
      const { statusCode, code, message } = answerFor(error)
      bump(counts.rejected, code)
      if (statusCode >= 500) request.log.error({ err: error }, 'collector request failed')
      return reply.code(statusCode).send({ success: false, code, error: message })
    })

    for (const endpoint of ENDPOINTS) routes.post(`/v1/${endpoint}`, async request => await receive(request, endpoint))

    routes.get('/health', async (request, reply) => {
      const writable = await storage.writable()
      return reply.code(writable ? 200 : 503).send({
        status: writable ? 'ok' : 'the data directory is not writable',
        ...counts,
        storage: storage.stats,
        schemaVersions: schemas.versions,
        dedup: { entries: recent.size, capacity: settings.dedupEntries }
      })
    })
  // Fastify's types want serializers to return strings; pino takes objects (Fastify's own req serializer returns one).
  }, { prefix: options.prefix, logSerializers: { req: requestWithoutAddress as unknown as (value: unknown) => string } })
}

export const plugin = fp(telemetryCollector, { fastify: '5.x', name: 'fastify-anonymous-telemetry-collector' })
