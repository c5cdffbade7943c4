import { once } from 'node:events'
import { connect } from 'node:net'
import { readFileSync } from 'node:fs'
import { join } from 'node:path'
import { test } from 'tap'
import { COMMANDS, main, signals } from '../lib/cli'
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

test('every wrong flag is a usage error naming it', async t => {
  const ok = ['--data', 'd', '--write-key', 'k']
  const cases: Array<[string[], string]> = [
    [['--write-key', 'k'], '--data is required: <dir>'],
    [['--data', '', '--write-key', 'k'], '--data must be a value; received ""'],
    [['--data', 'd'], '--write-key is required: <key>[=<sourceId>] (or TELEMETRY_WRITE_KEYS set)'],
    [['--data', 'd', '--write-key', '=src'], '--write-key must be <key> or <key>=<sourceId>; received "=src"'],
    [[...ok, '--port', '80000'], '--port must be an integer from 0 to 65535; received "80000"'],
    [[...ok, '--gzip-level', '10'], '--gzip-level must be an integer from 0 to 9; received "10"'],
    [[...ok, '--log-level', 'loud'], '--log-level must be one of fatal, error, warn, info, debug, trace, silent; received "loud"'],
    [[...ok, '--host', ''], '--host must be a value; received ""'],
    [[...ok, '--prot', '1'], 'unknown flag --prot; did you mean --port?'],
    [[...ok, '--port'], '--port needs a value: <n>'],
    [[...ok, 'extra'], 'unexpected argument "extra" (serve takes flags only)'],
    [[...ok, '--help'], '--help is not a configuration']
  ]
  for (const [argv, message] of cases) t.throws(() => serveConfig(argv, {}), { code: 'FST_TELEMETRY_COLLECTOR_USAGE', message }, message)
  t.throws(() => serveConfig(['--data', 'd'], { TELEMETRY_WRITE_KEYS: '=x' }), { message: 'TELEMETRY_WRITE_KEYS must be <key> or <key>=<sourceId>; received "=x"' })
})

test('main: no command or an unknown one exits 2 naming it; help and --version exit 0 on stdout', async t => {
  for (const [argv, message] of [[[], 'a command is required'], [['serv'], 'unknown command "serv"; did you mean serve?'], [['zzz'], 'unknown command "zzz"']] as const) {
    const io = memoryIo()
    t.equal(await main([...argv], io), 2)
    t.equal(io.errors(), `fastify-anonymous-telemetry-collector: ${message}\nsee \`fastify-anonymous-telemetry-collector --help\`\n`)
  }
  for (const flag of ['--help', '-h', 'help']) {
    const io = memoryIo()
    t.equal(await main([flag], io), 0)
    t.match(io.output(), /^Usage: fastify-anonymous-telemetry-collector <command> \[flags\][^]*fastify-anonymous-telemetry-collector serve --data <dir> \[flags\]\n {6}receive events/)
  }
  const io = memoryIo()
  t.equal(await main(['--version'], io), 0)
  t.equal(io.output(), `${(JSON.parse(readFileSync(join(__dirname, '..', 'package.json'), 'utf8')) as { version: string }).version}\n`)
})

test('every command has its own --help and -h, with every flag, on stdout', async t => {
  for (const name of Object.keys(COMMANDS)) {
    for (const flag of ['--help', '-h']) {
      const io = memoryIo()
      t.equal(await main([name, '--db', 'x', flag], io), 0)
      t.match(io.output(), new RegExp(`^Usage: fastify-anonymous-telemetry-collector ${name} `))
      for (const each of Object.keys(COMMANDS[name].flags)) t.match(io.output(), `\n  --${each}`)
      t.match(io.output(), /Exit codes: 0 done; 1 the work failed/)
    }
  }
})

test('serve fails at once, exit 1, on a data directory it cannot create', async t => {
  const file = join(t.testdir({ file: 'x' }), 'file')
  const io = memoryIo({ TELEMETRY_WRITE_KEYS: KEY })
  t.equal(await main(['serve', '--data', join(file, 'data')], io), 1)
  t.equal(io.errors(), `fastify-anonymous-telemetry-collector serve: cannot create the directory ${join(file, 'data', 'segment-logs')}: it or a part of its path is a file, not a directory\n`)
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
