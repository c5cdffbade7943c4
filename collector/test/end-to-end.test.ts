import { Readable } from 'node:stream'
import Fastify, { type FastifyInstance } from 'fastify'
import { test, type Test } from 'tap'
import telemetryCollector from '../lib/index'
import { KEY, asSent, stored } from './helpers/collector'
import { loadPlugin } from './helpers/plugin'

const FAST = { identifyAfter: 20, reportInterval: 60, keepAliveInterval: 40, flushTimeout: 2000 }
type Event = Record<string, any>
const nameOf = (event: Event): string => event.type === 'identify' ? 'identify' : event.event

/** A collector on 127.0.0.1 that also keeps every raw body it was sent, to compare with what it stored. */
async function collector (t: Test): Promise<{ app: FastifyInstance, url: string, dataDir: string, sent: Event[], until: (done: (sent: Event[]) => boolean) => Promise<void> }> {
  const dataDir = t.testdir()
  const app = Fastify()
  const sent: Event[] = []
  const waiters = new Set<() => void>()
  await app.register(telemetryCollector, { dataDir, writeKeys: [KEY] })
  app.addHook('preParsing', async (request, reply, payload) => {
    const chunks: Buffer[] = []
    for await (const chunk of payload as Readable) chunks.push(chunk as Buffer)
    const raw = Buffer.concat(chunks)
    reply.raw.once('finish', () => {
      if (reply.statusCode === 200) sent.push(...JSON.parse(raw.toString()).batch)
      for (const waiter of waiters) waiter()
    })
    return Object.assign(Readable.from([raw]), { receivedEncodedLength: raw.length })
  })
  const url = await app.listen({ port: 0, host: '127.0.0.1' })
  t.teardown(async () => await app.close())
  const until = async (done: (sent: Event[]) => boolean): Promise<void> => {
    if (done(sent)) return
    await new Promise<void>(resolve => {
      const check = (): void => { if (done(sent)) { waiters.delete(check); resolve() } }
      waiters.add(check)
    })
  }
  return { app, url, dataDir, sent, until }
}

test('the real plugin → collector → files: every event once, as the plugin sent it', async t => {
  const { default: telemetry } = loadPlugin()
  const { url, dataDir, sent, until } = await collector(t)
  const app = Fastify()
  await app.register(telemetry, { writeKey: KEY, issuerUrl: 'https://auth.example.com/', host: url, endpoints: ['/clients'], ...FAST })
  app.get('/clients', async () => ({ clients: [] }))
  app.get('/clients/:id', async () => ({ id: 1 }))
  await app.ready()
  for (let i = 0; i < 20; i++) await app.inject(i % 2 === 0 ? '/clients' : '/clients/7')
  await until(events => {
    const names = events.map(nameOf)
    return names.includes('identify') && names.filter(n => n === 'telemetry').length >= 2 && names.includes('keep-alive')
  })
  const before = sent.filter(e => nameOf(e) === 'telemetry').length
  await app.close()
  await until(events => events.filter(e => nameOf(e) === 'telemetry').length > before)

  const { events, torn } = await stored(dataDir)
  t.same(torn, [])
  t.same(events.map(asSent), sent, 'stored in order, field for field, as sent')
  t.equal(new Set(events.map(e => e.messageId)).size, events.length, 'each event once')
  const names = new Set(events.map(nameOf))
  t.same([...names].sort(), ['identify', 'keep-alive', 'telemetry'])
  const last = events.filter(e => nameOf(e) === 'telemetry').at(-1) as Event
  t.equal(last.properties.requests, 20, 'the final report counts every request')
  for (const event of events) {
    t.match(event.receivedAt, /^\d{4}-\d{2}-\d{2}T/)
    t.match(event.sentAt, /^\d{4}-\d{2}-\d{2}T/)
  }
})
