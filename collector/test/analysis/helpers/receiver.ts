import { EventEmitter } from 'node:events'
import { request } from 'node:http'
import { Readable } from 'node:stream'
import Fastify, { type FastifyRequest } from 'fastify'
import type { Test } from 'tap'
import telemetryCollector from '../../../lib/index'

export type Event = Record<string, any>

/** One batch that reached the receiver: the bytes and headers as sent, and its events. */
export interface Batch { raw: Buffer, headers: Record<string, string>, events: Event[] }

export interface Receiver {
  url: string
  dataDir: string
  /** Batches answered 200, in answer order. */
  accepted: Batch[]
  /** Refuses (503, as a receiver that is down) the next batch `matches` accepts; resolves with that batch. */
  refuseNext: (what: string, matches: (batch: Batch) => boolean, ms?: number) => Promise<Batch>
  /** Resolves once `done(accepted)` holds, re-checked after every answer; fails after `ms` naming `what`. */
  until: (what: string, done: (accepted: Batch[]) => boolean, ms?: number) => Promise<void>
  /** POSTs `batch` again, byte for byte, with its own headers: a sender retrying a batch that did arrive. */
  replay: (batch: Batch) => Promise<number>
}

/** Waits for `done()` to hold, re-checked on each `signal` event: never on a clock, except to give up after `ms`. */
export async function waitFor (signal: EventEmitter, what: string, done: () => boolean, ms = 60_000): Promise<void> {
  if (done()) return
  await new Promise<void>((resolve, reject) => {
    const check = (): void => {
      if (!done()) return
      cleanup()
      resolve()
    }
    const giveUp = setTimeout(() => { cleanup(); reject(new Error(`gave up after ${ms} ms waiting for ${what}`)) }, ms)
    const cleanup = (): void => { clearTimeout(giveUp); signal.removeListener('change', check) }
    signal.on('change', check)
  })
}

/**
 * The real collector on 127.0.0.1 with receive-time dedup off (`dedupEntries: 0`, as after a receiver restart
 * has emptied its memory), so that a resent batch reaches the files and only ingest can count it once. Hooks in
 * front of it keep each accepted batch's bytes (to replay one) and can refuse one chosen batch with a 503.
 */
export async function startReceiver (t: Test, dataDir: string, writeKey: string): Promise<Receiver> {
  const app = Fastify()
  const signal = new EventEmitter()
  const accepted: Batch[] = []
  const batches = new WeakMap<FastifyRequest, Batch>()
  const refusals: Array<{ matches: (batch: Batch) => boolean, refused: (batch: Batch) => void }> = []

  app.addHook('preParsing', async (request, reply, payload) => {
    const chunks: Buffer[] = []
    for await (const chunk of payload as Readable) chunks.push(chunk as Buffer)
    const raw = Buffer.concat(chunks)
    if (request.url === '/v1/batch') {
      batches.set(request, { raw, headers: request.headers as Record<string, string>, events: JSON.parse(raw.toString()).batch })
    }
    return Object.assign(Readable.from([raw]), { receivedEncodedLength: raw.length })
  })
  app.addHook('preHandler', async (request, reply) => {
    const batch = batches.get(request)
    const index = batch === undefined ? -1 : refusals.findIndex(r => r.matches(batch))
    if (index === -1) return
    const [refusal] = refusals.splice(index, 1)
    refusal.refused(batch as Batch)
    return await reply.code(503).send({ success: false, error: 'receiver down' })
  })
  app.addHook('onResponse', async (request, reply) => {
    const batch = batches.get(request)
    if (batch !== undefined && reply.statusCode === 200) accepted.push(batch)
    signal.emit('change')
  })
  await app.register(telemetryCollector, { dataDir, writeKeys: [writeKey], dedupEntries: 0 })
  const url = await app.listen({ port: 0, host: '127.0.0.1' })
  t.teardown(async () => await app.close())

  return {
    url,
    dataDir,
    accepted,
    refuseNext: async (what, matches, ms) => {
      let refused: Batch | undefined
      refusals.push({ matches, refused: batch => { refused = batch } })
      await waitFor(signal, what, () => refused !== undefined, ms)
      return refused as Batch
    },
    until: async (what, done, ms) => await waitFor(signal, what, () => done(accepted), ms),
    replay: async batch => await new Promise((resolve, reject) => {
      const { host: _host, connection: _connection, ...headers } = batch.headers
      const sent = request(`${url}/v1/batch`, { method: 'POST', headers }, response => {
        response.resume()
        response.on('end', () => resolve(response.statusCode as number))
      })
      sent.on('error', reject)
      sent.end(batch.raw)
    })
  }
}
