import { once } from 'node:events'
import { createServer } from 'node:http'
import type { AddressInfo } from 'node:net'
import { performance } from 'node:perf_hooks'
import Fastify from 'fastify'
import { test } from 'tap'
import fastifyTelemetry, { MAX_PENDING_REPORTS } from '../lib/index'
import { DeliveryQueue, type DeliveryUnit } from '../lib/delivery'
import { MAX_TIMER_MS } from '../lib/options'
import { createUndiciTransport } from '../lib/transport'
import { buildApp, telemetryOptions } from './helpers/app'
import { Collector } from './helpers/collector'
import { closeInOrder, liveApp } from './helpers/live'
import { LogSink } from './helpers/log-sink'

type Unit = DeliveryUnit<string>

/** A queue whose "SDK" just records each message with its `done` callback, so a test decides when each completes. */
function queueUnderTest (): {
  queue: DeliveryQueue<string>
  sent: string[]
  finish: (message: string, error?: unknown) => void
  dropped: Unit[]
  failed: Array<[Unit, unknown]>
} {
  const sent: string[] = []
  const callbacks = new Map<string, (error?: unknown) => void>()
  const dropped: Unit[] = []
  const failed: Array<[Unit, unknown]> = []
  const queue = new DeliveryQueue<string>(
    (message, done) => {
      sent.push(message)
      callbacks.set(message, done)
    },
    unit => dropped.push(unit),
    (unit, error) => failed.push([unit, error])
  )
  const finish = (message: string, error?: unknown): void => (callbacks.get(message) as (error?: unknown) => void)(error)
  return { queue, sent, finish, dropped, failed }
}

const report = (...messages: string[]): Unit => ({ kind: 'telemetry', messages })
const identify = (message: string): Unit => ({ kind: 'identify', messages: [message] })

test('the first unit is handed to the SDK at once, every message of it', async t => {
  const { queue, sent } = queueUnderTest()
  queue.push(report('r1 part 1', 'r1 part 2'))
  t.strictSame(sent, ['r1 part 1', 'r1 part 2'])
})

test('one unit travels at a time: the next waits until every message of the current one is done', async t => {
  const { queue, sent, finish } = queueUnderTest()
  queue.push(report('r1 part 1', 'r1 part 2'))
  queue.push(report('r2'))
  finish('r1 part 1')
  t.strictSame(sent, ['r1 part 1', 'r1 part 2'], 'r2 still waits for r1 part 2')
  finish('r1 part 2')
  t.strictSame(sent, ['r1 part 1', 'r1 part 2', 'r2'])
})

test('pending counts the messages waiting or travelling', async t => {
  const { queue, finish } = queueUnderTest()
  t.equal(queue.pending, 0)
  queue.push(report('r1 part 1', 'r1 part 2'))
  queue.push(report('r2 part 1', 'r2 part 2', 'r2 part 3'))
  t.equal(queue.pending, 5)
  finish('r1 part 1')
  t.equal(queue.pending, 4)
  finish('r1 part 2')
  t.equal(queue.pending, 3)
})

const keepAlive = (message: string): Unit => ({ kind: 'keep-alive', messages: [message] })

test('a newer report replaces the waiting one in its place in line: reports are cumulative', async t => {
  const { queue, sent, finish, dropped } = queueUnderTest()
  queue.push(report('r1'))
  queue.push(report('r2 part 1', 'r2 part 2'))
  queue.push(keepAlive('k1'))
  queue.push(report('r3'))
  t.strictSame(dropped, [report('r2 part 1', 'r2 part 2')])
  finish('r1')
  finish('r3')
  t.strictSame(sent, ['r1', 'r3', 'k1'], 'r3 took r2\'s place, ahead of k1')
})

test(`at most ${MAX_PENDING_REPORTS} units wait or travel: overflow drops the oldest waiting unit that is not an identify`, async t => {
  const { queue, sent, finish, dropped } = queueUnderTest()
  queue.push(report('r1'))
  queue.push(identify('i1'))
  queue.push(report('r2'))
  t.strictSame(dropped, [])
  queue.push(keepAlive('k1'))
  t.strictSame(dropped, [report('r2')])
  finish('r1')
  finish('i1')
  t.strictSame(sent, ['r1', 'i1', 'k1'])
})

test('identifies never replace each other; when only identifies wait, overflow drops the oldest of them', async t => {
  const { queue, dropped } = queueUnderTest()
  queue.push(report('r1'))
  queue.push(identify('i1'))
  queue.push(identify('i2'))
  t.strictSame(dropped, [])
  queue.push(identify('i3'))
  t.strictSame(dropped, [identify('i1')])
})

test('drain hands every waiting unit to the SDK at once, without waiting for the travelling one', async t => {
  const { queue, sent, finish } = queueUnderTest()
  queue.push(report('r1'))
  queue.push(identify('i1'))
  queue.push(report('r2 part 1', 'r2 part 2'))
  queue.drain()
  t.strictSame(sent, ['r1', 'i1', 'r2 part 1', 'r2 part 2'])
  t.equal(queue.pending, 4)
  for (const message of sent) finish(message)
  t.equal(queue.pending, 0)
})

test('a failed unit is reported once, with its first error, when all its messages are done', async t => {
  const { queue, finish, failed } = queueUnderTest()
  const unit = report('r1 part 1', 'r1 part 2', 'r1 part 3')
  queue.push(unit)
  const first = new Error('first')
  finish('r1 part 1', first)
  finish('r1 part 2', new Error('second'))
  t.strictSame(failed, [], 'r1 part 3 is still travelling')
  finish('r1 part 3')
  t.equal(failed.length, 1)
  t.equal(failed[0][0], unit)
  t.equal(failed[0][1], first)
})

test('a delivered unit is not reported as failed', async t => {
  const { queue, finish, failed } = queueUnderTest()
  queue.push(report('r1'))
  finish('r1')
  t.strictSame(failed, [])
})

test('a message reported done twice counts once', async t => {
  const { queue, sent, finish } = queueUnderTest()
  queue.push(report('r1 part 1', 'r1 part 2'))
  queue.push(report('r2'))
  finish('r1 part 1')
  finish('r1 part 1')
  t.equal(queue.pending, 2, 'r1 part 2 still travels, r2 still waits')
  t.strictSame(sent, ['r1 part 1', 'r1 part 2'])
})

test(`with a hanging collector, fastify.telemetry.pending never exceeds ${MAX_PENDING_REPORTS}`, async t => {
  const collector = await Collector.start()
  collector.fault = 'hang'
  const sink = new LogSink()
  const app = Fastify({ logger: { level: 'debug', stream: sink.stream } })
  closeInOrder(t, { collector, app })
  await app.register(fastifyTelemetry, telemetryOptions(collector, { flushTimeout: 500 }))
  await app.ready()
  const samples: number[] = []
  // Sampled right after each overflow, when the queue is at its fullest.
  for (let drops = 1; drops <= 8; drops++) {
    await sink.waitFor('delivery queue full', drops)
    samples.push(app.telemetry.pending)
  }
  t.ok(samples.every(pending => pending <= MAX_PENDING_REPORTS), `pending: ${samples.join(', ')}`)
  t.equal(Math.max(...samples), MAX_PENDING_REPORTS, 'and the queue did fill up')
})

test('close() with a hanging collector resolves after about flushTimeout, long before the collector answers', async t => {
  const { collector, app } = await liveApp(t, { flushTimeout: 500 })
  await collector.waitForEvents('telemetry')
  collector.fault = 'hang'
  await app.inject('/clients/alice')
  const started = performance.now()
  await t.resolves(app.close())
  const elapsed = performance.now() - started
  t.ok(elapsed < 10_000, `closed in ${Math.round(elapsed)} ms; the collector never answers`)
})

test('close() with the collector down resolves and does not throw', async t => {
  const collector = await Collector.start()
  const app = await buildApp(telemetryOptions(collector, { flushTimeout: 500 }))
  t.teardown(() => app.close())
  await collector.waitForEvents('telemetry')
  await collector.close()
  const started = performance.now()
  await t.resolves(app.close())
  const elapsed = performance.now() - started
  t.ok(elapsed < 10_000, `closed in ${Math.round(elapsed)} ms`)
})

test('a lost identify is sent again, ahead of the next report, once the collector recovers', async t => {
  const collector = await Collector.start()
  collector.fault = '400'
  const app = await buildApp(telemetryOptions(collector, { reportInterval: 400, keepAliveInterval: MAX_TIMER_MS }))
  closeInOrder(t, { collector, app })
  await collector.waitFor(() => collector.requests >= 1)
  collector.fault = 'ok'
  t.match(collector.wire[0], /"type":"identify"/, 'the first attempt was the identify, and it was refused')

  const afterIdentify = (): string[] => collector.names.slice(collector.names.indexOf('identify'))
  await collector.waitFor(() => afterIdentify().length >= 2)
  t.strictSame(afterIdentify().slice(0, 2), ['identify', 'telemetry'])
  t.equal(collector.named('identify').length, 1)
})

test('keep-alives start only after the identify, however much shorter their interval', async t => {
  const { collector } = await liveApp(t, { identifyAfter: 300, keepAliveInterval: 20 })
  await collector.waitForEvents('keep-alive')
  t.match(collector.wire[0], /"type":"identify"/, 'the first request carried the identify')
  t.equal(collector.names[0], 'identify', `events in order of arrival: ${collector.names.join(', ')}`)
})

test('identify is sent once in an instance\'s life, however many reports and keep-alives follow', async t => {
  const { collector } = await liveApp(t)
  await collector.waitForEvents('telemetry', 5)
  await collector.waitForEvents('keep-alive', 5)
  t.equal(collector.named('identify').length, 1)
})

test('the undici transport returns status and reason phrase, empty for a non-standard status', async t => {
  const server = createServer((request, response) => {
    request.resume()
    request.on('end', () => response.writeHead(request.url === '/odd' ? 299 : 200).end('{"success":true}'))
  })
  server.listen(0, '127.0.0.1')
  await once(server, 'listening')
  const transport = createUndiciTransport(5000)
  t.teardown(async () => {
    await transport.destroy()
    server.close()
  })
  const base = `http://127.0.0.1:${(server.address() as AddressInfo).port}`
  const send = async (path: string): Promise<[number, string]> => {
    const response = await transport.makeRequest({
      url: `${base}${path}`, method: 'POST', headers: { 'content-type': 'application/json' }, body: '{}', httpRequestTimeout: 5000
    })
    return [response.status, response.statusText]
  }
  t.strictSame(await send('/v1/batch'), [200, 'OK'])
  t.strictSame(await send('/odd'), [299, ''])
})
