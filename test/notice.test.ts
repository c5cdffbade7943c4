import { createHash } from 'node:crypto'
import t, { test } from 'tap'
import type { TelemetryOptions } from '../lib/index'
import { WHAT_IS_SENT_URL } from '../lib/notice'
import type { NoticeApp } from './fixtures/notice-app'
import { LEVEL, type LogLine } from './helpers/log-sink'
import { run, type Seen } from './helpers/operator'

// Operators always learn that telemetry is on: once per process and installation, at `ready`, through the app's
// logger when it has a real one, else as one plain line on standard error. The apps run in child processes
// (test/fixtures/notice-app.ts), so that what they write to stdout and stderr is exactly what an operator sees. A
// child process starts slowly: one process holds many apps, each with an issuer URL (so a cluster id) of its own,
// and its lines are told apart by cluster id.

t.setTimeout(300_000)

const WRITE_KEY = 'wk_S3CR3T_notice_write_key'
const NOTICE = 'fastify-anonymous-telemetry: anonymous usage telemetry is on'
const DRY_RUN = 'fastify-anonymous-telemetry dry run, not sent: '

const issuer = (name: string): string => `https://${name}.example.com/`
const clusterId = (name: string): string => createHash('sha512').update(issuer(name)).digest('hex')

/** Nothing is due for 15 minutes (the default `identifyAfter`) and the host is a closed port: nothing can leave. */
const on = (name: string, extra: TelemetryOptions = {}): TelemetryOptions =>
  ({ writeKey: WRITE_KEY, issuerUrl: issuer(name), endpoints: ['/clients'], host: 'http://127.0.0.1:9', ...extra })

/** Logged notices of the app named `name`. */
const noticesOf = (seen: Seen, name: string): LogLine[] =>
  seen.logged.filter(line => line.msg.startsWith(NOTICE) && line.clusterId === clusterId(name))
/** Logged lines whose message contains `text`. */
const matching = (seen: Seen, text: string): LogLine[] => seen.logged.filter(line => line.msg.includes(text))
/** Notices on stderr of the app named `name`. */
const stderrOf = (seen: Seen, name: string): string[] => seen.stderr.filter(line => line.includes(clusterId(name)))

// One process, one app per kind of logger.
const LOGGERS: Array<[string, NoticeApp['logger']]> = [
  ['info', { level: 'info' }], ['debug', { level: 'debug' }], ['trace', { level: 'trace' }],
  ['warn', { level: 'warn' }], ['error', { level: 'error' }],
  ['false', false], ['none', undefined], ['silent', { level: 'silent' }], ['nest', 'nest']
]
let everyLogger: Promise<Seen> | undefined
async function withEveryLogger (): Promise<Seen> {
  everyLogger ??= run([
    ...LOGGERS.map(([name, logger]) => ({ logger, telemetry: on(name) })),
    { logger: { level: 'info' }, telemetry: on('short-wait', { identifyAfter: 20_000 }) },
    // A second app of an installation already announced, and an app switched off.
    { telemetry: on('none') },
    { telemetry: on('off', { enabled: false }) }
  ])
  return await everyLogger
}

test('the notice says what is sent (a link), the cluster id and how to turn telemetry off', async t => {
  const seen = await withEveryLogger()
  t.strictSame(noticesOf(seen, 'info').map(line => line.msg), [
    `${NOTICE}; first report after 15 min of uptime. Cluster id ${clusterId('info')}. What is sent: ${WHAT_IS_SENT_URL}. ` +
    'Turn it off with DISABLE_TELEMETRY=1, DO_NOT_TRACK=1 or the option enabled: false'
  ])
})

test('a wait shorter than a minute is given in milliseconds', async t => {
  t.match(noticesOf(await withEveryLogger(), 'short-wait')[0]?.msg, 'first report after 20000 ms of uptime')
})

for (const name of ['info', 'debug', 'trace']) {
  test(`a logger at ${name} gets the notice once, at info, with the cluster id as a field; nothing on stderr`, async t => {
    const seen = await withEveryLogger()
    t.match(noticesOf(seen, name), [{ level: LEVEL.info, clusterId: clusterId(name) }])
    t.equal(noticesOf(seen, name).length, 1)
    t.strictSame(stderrOf(seen, name), [])
  })
}

test('a logger set above info gets the notice at warn, through it, so JSON log pipelines stay intact', async t => {
  const seen = await withEveryLogger()
  t.match(noticesOf(seen, 'warn'), [{ level: LEVEL.warn, clusterId: clusterId('warn') }])
  t.strictSame(stderrOf(seen, 'warn'), [])
})

test('a logger at error drops that warn line: the app chose to see errors only', async t => {
  const seen = await withEveryLogger()
  t.strictSame(noticesOf(seen, 'error'), [])
  t.strictSame(stderrOf(seen, 'error'), [])
})

const NULL_LOGGERS: Array<[string, string]> = [
  ['false', 'logger: false'],
  ['none', 'no logger option'],
  ['silent', 'a silent logger'],
  ['nest', 'a NestJS app with its default adapter (Fastify\'s logger off)']
]

for (const [name, what] of NULL_LOGGERS) {
  test(`${what}: the notice is one plain line on standard error`, async t => {
    const seen = await withEveryLogger()
    t.strictSame(stderrOf(seen, name), [
      `${NOTICE}; first report after 15 min of uptime. Cluster id ${clusterId(name)}. What is sent: ${WHAT_IS_SENT_URL}. ` +
      'Turn it off with DISABLE_TELEMETRY=1, DO_NOT_TRACK=1 or the option enabled: false'
    ], 'told once, though two apps of this installation started in the process')
    t.strictSame(noticesOf(seen, name), [])
  })
}

test('off, nothing is announced anywhere', async t => {
  const seen = await withEveryLogger()
  t.strictSame(stderrOf(seen, 'off'), [])
  t.strictSame(noticesOf(seen, 'off'), [])
})

test('each installation in a process is told once: one notice per cluster id', async t => {
  const seen = await withEveryLogger()
  const told = [...seen.stderr, ...seen.logged.map(line => line.msg)].filter(line => line.startsWith(NOTICE))
  // Nine loggers and the short wait, less the logger at error; the second app of one installation and the app
  // switched off tell nothing.
  t.equal(told.length, LOGGERS.length + 1 - 1)
})

test('switched off by the environment, nothing is announced anywhere', async t => {
  const seen = await run([{ logger: { level: 'info' }, telemetry: on('info') }, { telemetry: on('none') }], { DO_NOT_TRACK: '1' })
  t.strictSame(seen.stderr, [])
  t.strictSame(seen.logged.filter(line => line.msg.startsWith(NOTICE)), [])
})

test('dry run without a logger: the notice, then the identify and a first report at once, each one plain line of wire JSON', async t => {
  const seen = await run([{ telemetry: on('dry', { dryRun: true }) }], {}, seen => seen.stderr.some(line => line.startsWith(`${DRY_RUN}telemetry`)))
  t.match(seen.stderr[0], `${NOTICE} (dry run: events are logged, not sent); first events now.`)
  const [identify, report] = seen.stderr.slice(1).map(line => {
    const [, name, json] = /^fastify-anonymous-telemetry dry run, not sent: (\S+) (\{.*\})$/.exec(line) ?? []
    return { name, body: JSON.parse(json ?? 'null') as unknown }
  })
  t.match(identify, { name: 'identify', body: { batch: [{ type: 'identify', anonymousId: clusterId('dry') }], writeKey: '[redacted]', sentAt: String } })
  t.match(report, { name: 'telemetry', body: { batch: [{ type: 'track', event: 'telemetry' }], writeKey: '[redacted]' } })
  t.notMatch(seen.stderr.join('\n'), WRITE_KEY)
})

test('dry run with a logger set above info: the events at warn, through it', async t => {
  const seen = await run([{ logger: { level: 'warn' }, telemetry: on('dry', { dryRun: true }) }], {}, seen => matching(seen, `${DRY_RUN}telemetry`).length > 0)
  t.match(matching(seen, DRY_RUN).slice(0, 2), [
    { level: LEVEL.warn, msg: `${DRY_RUN}identify`, telemetryEvent: { type: 'identify' } },
    { level: LEVEL.warn, msg: `${DRY_RUN}telemetry`, telemetryEvent: { event: 'telemetry' } }
  ])
  t.strictSame(seen.stderr, [])
})

test('dry run without endpoints: the paths it would report are listed where the notice goes', async t => {
  const seen = await run([{ telemetry: { issuerUrl: issuer('discovery'), dryRun: true } }])
  t.match(seen.stderr, [NOTICE, /^fastify-anonymous-telemetry: no endpoints option; .*: \["\/"\]$/])
})
