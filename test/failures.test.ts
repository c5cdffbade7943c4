import Fastify from 'fastify'
import t, { test, type Test } from 'tap'
import fastifyTelemetry, { type TelemetryOptions } from '../lib/index'
import { FailureKinds, MAX_FAILURE_KINDS, describeFailure } from '../lib/failures'
import { MAX_TIMER_MS } from '../lib/options'
import { telemetryOptions } from './helpers/app'
import { Collector, type Fault } from './helpers/collector'
import { useEnv } from './helpers/env'
import { LEVEL, LogSink, type LogLine } from './helpers/log-sink'
import { run } from './helpers/operator'
import { ForwardProxy, useProxyEnv } from './helpers/proxy'

useEnv(t)
useProxyEnv(t)

// A delivery that fails says so, once: the first failure of each kind in a process is a warning with a hint, later
// ones of that kind stay at debug. Failure kinds are remembered per process, so each test here fails in a kind of
// its own, against a real server on 127.0.0.1.

const WRITE_KEY = 'wk_S3CR3T_failures_write_key'
const NOT_DELIVERED = 'fastify-anonymous-telemetry: event not delivered'

/** An app reporting to `collector` with a logger at debug; resolves with its logs once `count` failures were told. */
async function failing (t: Test, collector: Collector, extra: TelemetryOptions = {}, count = 1): Promise<LogSink> {
  const logs = new LogSink()
  const app = Fastify({ logger: { level: 'debug', stream: logs.stream } })
  t.teardown(async () => {
    await app.close()
    await collector.close()
  })
  await app.register(fastifyTelemetry, telemetryOptions(collector, { keepAliveInterval: MAX_TIMER_MS, ...extra }))
  await app.ready()
  await logs.waitFor(NOT_DELIVERED, count)
  return logs
}

async function collectorWith (fault: Fault): Promise<Collector> {
  const collector = await Collector.start(WRITE_KEY)
  collector.fault = fault
  return collector
}

/** Neither the write key (plain or as Basic auth) nor anything of a request body is in the logs. */
function secretsKept (t: Test, logs: LogSink): void {
  t.notMatch(logs.text, WRITE_KEY)
  t.notMatch(logs.text, Buffer.from(`${WRITE_KEY}:`).toString('base64'))
  for (const bodyPart of ['"batch"', 'instanceId', 'traits', 'schemaVersion']) t.notMatch(logs.text, bodyPart, `no ${bodyPart}`)
}

const failures = (logs: LogSink): LogLine[] => logs.matching(NOT_DELIVERED)

test('a wrong write key (401) is told at warn once, with a hint; the next 401s stay at debug', async t => {
  const collector = await Collector.start('the-right-key')
  const logs = await failing(t, collector, { writeKey: WRITE_KEY, reportInterval: 50 }, 3)
  const [first, ...later] = failures(logs)
  t.match(first, {
    level: LEVEL.warn,
    kind: 'identify',
    failure: 'status 401',
    status: 401,
    msg: `${NOT_DELIVERED} (collector answered 401): the collector did not accept the write key. Later failures of this kind are logged at debug`
  })
  t.match(later, [{ level: LEVEL.debug, failure: 'status 401', msg: `${NOT_DELIVERED} (collector answered 401)` }, { level: LEVEL.debug }])
  secretsKept(t, logs)
})

const ANSWERS: Array<[Fault & ('403' | '413' | '500'), string]> = [
  ['403', 'the collector did not accept the write key'],
  ['413', 'the collector found the batch too large (each event stays under 32 KB; its limit is lower)'],
  ['500', 'the collector failed to store the batch; the next report is the retry']
]

for (const [fault, hint] of ANSWERS) {
  test(`${fault} says: ${hint}`, async t => {
    const logs = await failing(t, await collectorWith(fault), { writeKey: WRITE_KEY })
    t.match(failures(logs)[0], { level: LEVEL.warn, status: Number(fault), msg: `(collector answered ${fault}): ${hint}. Later failures` })
    secretsKept(t, logs)
  })
}

test('404 says where no batch endpoint was found', async t => {
  const collector = await collectorWith('ok')
  const logs = await failing(t, collector, { writeKey: WRITE_KEY, path: '/v2/batches' })
  t.match(failures(logs)[0], { level: LEVEL.warn, status: 404, msg: `(collector answered 404): no batch endpoint at ${collector.url}/v2/batches` })
  secretsKept(t, logs)
})

test('a proxy that answers 407 is said to ask for authentication', async t => {
  const proxy = await ForwardProxy.start({ asksForCredentials: true })
  t.teardown(() => proxy.close())
  useProxyEnv(t, { HTTP_PROXY: proxy.url })
  const collector = await collectorWith('ok')
  const logs = await failing(t, collector, { writeKey: WRITE_KEY })
  t.match(failures(logs)[0], { level: LEVEL.warn, failure: 'proxy 407', status: 407, msg: '(proxy answered 407): the proxy asked for authentication' })
  t.ok(proxy.tunnels.length > 0, 'the proxy was asked')
  t.equal(collector.requests, 0)
  secretsKept(t, logs)
})

test('a collector that never answers is told as a timeout', async t => {
  const logs = await failing(t, await collectorWith('hang'), { writeKey: WRITE_KEY, flushTimeout: 500 })
  t.match(failures(logs)[0], { level: LEVEL.warn, failure: 'timeout', msg: /\((TELEMETRY_DEADLINE|UND_ERR_HEADERS_TIMEOUT)\): no complete answer from http:\/\/127\.0\.0\.1:\d+ in time/ })
  secretsKept(t, logs)
})

test('a refused connection says nothing listens there', async t => {
  const gone = await Collector.start(WRITE_KEY)
  const host = gone.url
  await gone.close()
  const logs = await failing(t, await collectorWith('ok'), { writeKey: WRITE_KEY, host })
  t.match(failures(logs)[0], {
    level: LEVEL.warn, failure: 'ECONNREFUSED', code: 'ECONNREFUSED', msg: `(ECONNREFUSED): the connection was refused: nothing listens at ${host}, or at the proxy`
  })
  secretsKept(t, logs)
})

test('without a logger (Fastify\'s null logger, NestJS\'s default), the warning is one plain line on standard error', async t => {
  const gone = await Collector.start(WRITE_KEY)
  const host = gone.url
  await gone.close()
  const telemetry = { writeKey: WRITE_KEY, issuerUrl: 'https://failures.example.com/', endpoints: ['/'], host, identifyAfter: 1 }
  const seen = await run([{ telemetry }], {}, seen => seen.stderr.some(line => line.startsWith(NOT_DELIVERED)))
  t.match(seen.stderr.find(line => line.startsWith(NOT_DELIVERED)), `${NOT_DELIVERED} (ECONNREFUSED): the connection was refused`)
  t.notMatch(seen.stderr.join('\n'), WRITE_KEY)
})

test('every failure is sorted into a kind with a hint, by its fields alone', async t => {
  const at = (error: unknown): string => describeFailure(error, 'https://collector.example', '/v1/batch').hint
  t.equal(at({ status: 429 }), 'the collector is limiting the rate; the next report is the retry')
  t.equal(at({ status: 302 }), 'redirects are not followed: point the host option at the final URL')
  t.equal(at({ status: 400 }), 'the collector refused the batch')
  t.equal(at(new Error('Proxy response (403) !== 200 when HTTP Tunneling')), 'the proxy refused the tunnel to https://collector.example')
  t.equal(at({ code: 'ENOTFOUND' }), 'the host name of https://collector.example did not resolve')
  t.equal(at({ code: 'EAI_AGAIN' }), 'the host name of https://collector.example did not resolve')
  t.equal(at({ code: 'ECONNRESET' }), 'the connection was closed before an answer came')
  t.equal(at({ code: 'UND_ERR_SOCKET' }), 'the connection was closed before an answer came')
  t.equal(at({ code: 'CERT_HAS_EXPIRED' }), 'the event could not be delivered; the next report is the retry')
  t.strictSame(describeFailure(new TypeError('odd'), 'https://c', '/'), { kind: 'other', what: 'TypeError', hint: 'the event could not be delivered; the next report is the retry' })
  t.match(describeFailure(undefined, 'https://c', '/'), { kind: 'other', what: 'undefined' })
  t.equal(describeFailure({ code: 'UND_ERR_CONNECT_TIMEOUT' }, 'https://c', '/').kind, 'timeout')
})

test(`at most ${MAX_FAILURE_KINDS} kinds are remembered: beyond them, a new kind stays at debug`, async t => {
  const kinds = new FailureKinds()
  for (let i = 0; i < MAX_FAILURE_KINDS; i++) t.equal(kinds.first(`status ${500 + i}`), true)
  t.equal(kinds.first('status 500'), false, 'a kind seen before')
  t.equal(kinds.first('ECONNRESET'), false, 'a new kind past the cap')
})
