import { Writable } from 'node:stream'
import Fastify, { type FastifyInstance, type InjectOptions, type LightMyRequestResponse } from 'fastify'
import type { Test } from 'tap'
import telemetryCollector, { readEvents, type CollectorOptions, type TornMember } from '../../lib/index'

export const KEY = 'test-write-key'
export const AUTH = `Basic ${Buffer.from(`${KEY}:`).toString('base64')}`

/** A Fastify app with the collector registered on a fresh data dir; closed when `t` ends. */
export async function collectorApp (t: Test, options: Partial<CollectorOptions> = {}): Promise<{ app: FastifyInstance, dataDir: string }> {
  const dataDir = options.dataDir ?? t.testdir()
  const app = Fastify()
  await app.register(telemetryCollector, { dataDir, writeKeys: [KEY], ...options })
  await app.ready()
  t.teardown(async () => await app.close())
  return { app, dataDir }
}

/** The collector on 127.0.0.1, logging at `warn` into `logged` (each line parsed); closed when `t` ends. */
export async function listeningCollector (t: Test, options: Partial<CollectorOptions> = {}): Promise<{ app: FastifyInstance, url: string, dataDir: string, logged: Array<Record<string, any>> }> {
  const logged: Array<Record<string, any>> = []
  const stream = new Writable({
    write (chunk: Buffer, encoding, done) {
      for (const line of chunk.toString().split('\n')) if (line !== '') logged.push(JSON.parse(line))
      done()
    }
  })
  const dataDir = options.dataDir ?? t.testdir()
  const app = Fastify({ logger: { level: 'warn', stream } })
  await app.register(telemetryCollector, { dataDir, writeKeys: [KEY], ...options })
  const url = await app.listen({ port: 0, host: '127.0.0.1' })
  t.teardown(async () => await app.close())
  return { app, url, dataDir, logged }
}

/** POSTs `payload` (a string or bytes) to `url` with the test key and a JSON content type, overridable. */
export async function post (app: FastifyInstance, payload: string | Buffer, headers: Record<string, string | undefined> = {}, url = '/v1/batch'): Promise<LightMyRequestResponse> {
  const all: Record<string, string | undefined> = { authorization: AUTH, 'content-type': 'application/json', ...headers }
  // An undefined header is one the request does not send.
  for (const [name, value] of Object.entries(all)) if (value === undefined) delete all[name]
  const options: InjectOptions = { method: 'POST', url, payload, headers: all as Record<string, string> }
  return await app.inject(options)
}

/** Every stored event under `dataDir`, and the torn members met. */
export async function stored (dataDir: string): Promise<{ events: Array<Record<string, any>>, torn: TornMember[] }> {
  const events: Array<Record<string, any>> = []
  const torn: TornMember[] = []
  for await (const event of readEvents(dataDir, { onTorn: x => torn.push(x) })) events.push(event)
  return { events, torn }
}

/** An event as it was sent: the stored line minus the two fields the collector adds. */
export function asSent (event: Record<string, any>): Record<string, any> {
  const { receivedAt: _r, sentAt: _s, ...sent } = event
  return sent
}
