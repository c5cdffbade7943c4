import { once } from 'node:events'
import { connect } from 'node:net'
import { join } from 'node:path'
import { test } from 'tap'
import { main, signals } from '../lib/cli'
import { serveConfig, startServer } from '../lib/serve'
import { KEY } from './helpers/collector'
import { batch, keepAlive } from './helpers/events'
import { memoryIo } from './helpers/io'
import { spawnServe } from './helpers/serve-process'

test('serve flags, with TELEMETRY_WRITE_KEYS', async t => {
  const config = serveConfig(['--data', 'd', '--write-key', 'a', '--write-key', 'b=src-b', '--port', '0', '--host', '::1',
    '--request-timeout', '500', '--max-file-bytes', '4096', '--dedup-entries', '7', '--gzip-level', '1', '--log-level', 'info'], { TELEMETRY_WRITE_KEYS: 'c, d=src-d' })
  t.same(config, {
    dataDir: 'd',
    writeKeys: [{ writeKey: 'a' }, { writeKey: 'b', sourceId: 'src-b' }, { writeKey: 'c' }, { writeKey: 'd', sourceId: 'src-d' }],
    port: 0,
    host: '::1',
    requestTimeout: 500,
    maxFileBytes: 4096,
    dedupEntries: 7,
    gzipLevel: 1,
    logLevel: 'info'
  })
  t.match(serveConfig(['--data', 'd'], { TELEMETRY_WRITE_KEYS: 'k' }), { port: 8080, host: '127.0.0.1', requestTimeout: 10_000, logLevel: 'warn', writeKeys: [{ writeKey: 'k' }] })
})

test('every wrong flag is an error naming it', async t => {
  const ok = ['--data', 'd', '--write-key', 'k']
  const cases: Array<[string[], RegExp]> = [
    [['--write-key', 'k'], /option "--data" must be a directory/],
    [['--data', '', '--write-key', 'k'], /option "--data"/],
    [['--data', 'd'], /option "--write-key" must be given at least once/],
    [['--data', 'd', '--write-key', '=src'], /option "--write-key" must be <key> or <key>=<sourceId>/],
    [[...ok, '--port', '80000'], /option "--port" must be an integer from 0 to 65535; received "80000"/],
    [[...ok, '--port', 'http'], /option "--port"/],
    [[...ok, '--request-timeout', '0'], /option "--request-timeout"/],
    [[...ok, '--gzip-level', '10'], /option "--gzip-level"/],
    [[...ok, '--log-level', 'loud'], /option "--log-level" must be one of fatal/],
    [[...ok, '--host', ''], /option "--host"/],
    [[...ok, '--prot', '1'], /Unknown option '--prot'/],
    [[...ok, '--port'], /Option '--port <value>' argument missing/],
    [[...ok, 'extra'], /Unexpected argument 'extra'/]
  ]
  for (const [argv, message] of cases) t.throws(() => serveConfig(argv, {}), { code: 'FST_TELEMETRY_COLLECTOR_INVALID_OPTION', message }, String(message))
  t.throws(() => serveConfig(['--data', 'd'], { TELEMETRY_WRITE_KEYS: '=x' }), { message: /option "TELEMETRY_WRITE_KEYS"/ })
})

test('main: unknown or missing commands exit 2 with the usage; help exits 0', async t => {
  for (const argv of [[], ['serv']]) {
    const io = memoryIo()
    t.equal(await main(argv, io), 2)
    t.match(io.errors(), argv.length === 0 ? /a command is required/ : /unknown command "serv"/)
    t.match(io.errors(), /Usage: fastify-anonymous-telemetry-collector <command>/)
  }
  const io = memoryIo()
  t.equal(await main(['--help'], io), 0)
  t.match(io.output(), /serve/)
  const bad = memoryIo()
  t.equal(await main(['serve', '--data', 'd'], bad), 2)
  t.match(bad.errors(), /option "--write-key"[^]*Usage: fastify-anonymous-telemetry-collector serve/)
})

test('serve prints where it listens and writes, takes batches, and stops cleanly when told', async t => {
  const dataDir = t.testdir()
  const io = memoryIo({ TELEMETRY_WRITE_KEYS: KEY })
  const exit = main(['serve', '--data', dataDir, '--port', '0'], io)
  await new Promise<void>(resolve => { const check = (): void => { if (io.output().includes('writing to')) resolve(); else setImmediate(check) }; check() })
  const url = /listening on (\S+)/.exec(io.output())?.[1] as string
  t.match(url, /^http:\/\/127\.0\.0\.1:\d+$/)
  t.match(io.output(), `writing to ${join(dataDir, 'segment-logs')}\n`)
  const res = await fetch(`${url}/v1/batch`, { method: 'POST', body: batch([keepAlive()]), headers: { authorization: `Basic ${btoa(`${KEY}:`)}`, 'content-type': 'application/json' } })
  t.equal(res.status, 200)
  io.stop('SIGTERM')
  t.equal(await exit, 0)
  t.match(io.output(), /SIGTERM: closing[^]*stopped\n$/)
})

test('signals() resolves with the first SIGINT or SIGTERM and removes its listeners', async t => {
  const stopped = signals()
  const listening = { SIGINT: process.listenerCount('SIGINT'), SIGTERM: process.listenerCount('SIGTERM') }
  process.emit('SIGINT')
  t.equal(await stopped, 'SIGINT')
  t.same({ SIGINT: process.listenerCount('SIGINT'), SIGTERM: process.listenerCount('SIGTERM') }, { SIGINT: listening.SIGINT - 1, SIGTERM: listening.SIGTERM - 1 })
})

test('a body that trickles gets 408 from serve', async t => {
  const running = await startServer(serveConfig(['--data', t.testdir(), '--write-key', KEY, '--port', '0', '--request-timeout', '300']))
  t.teardown(running.close)
  const { port } = running.app.server.address() as { port: number }
  const socket = connect(port, '127.0.0.1')
  await once(socket, 'connect')
  socket.write('POST /v1/batch HTTP/1.1\r\nhost: x\r\ncontent-type: application/json\r\ncontent-length: 1000\r\n\r\n{"batch":')
  const chunks: Buffer[] = []
  socket.on('data', chunk => chunks.push(chunk))
  await once(socket, 'close')
  t.match(Buffer.concat(chunks).toString(), /^HTTP\/1\.1 408 Request Timeout/)
})

test('the bin runs as a process, prints, and stops on SIGTERM with exit code 0', async t => {
  const serve = await spawnServe(join(__dirname, '..', 'lib', 'cli.ts'), ['--data', t.testdir(), '--port', '0', '--write-key', KEY])
  t.equal(await serve.stop(), 0)
  t.match(serve.output(), /listening on http:\/\/127\.0\.0\.1:\d+\nwriting to .*segment-logs\nSIGTERM: closing[^]*stopped\n/)
})
