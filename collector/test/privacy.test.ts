import { readFileSync } from 'node:fs'
import { request } from 'node:http'
import { PassThrough } from 'node:stream'
import { gunzipSync } from 'node:zlib'
import { test } from 'tap'
import { listFiles } from '../lib/reader'
import { serveConfig, startServer } from '../lib/serve'
import { AUTH, KEY } from './helpers/collector'
import { batch, keepAlive } from './helpers/events'

const CLIENT = '127.0.0.2'

/** One request from 127.0.0.2 (the listen line and every default print 127.0.0.1, so a leak cannot hide). */
async function send (port: number, path: string, body: string, headers: Record<string, string>): Promise<number> {
  return await new Promise((resolve, reject) => {
    const req = request({ host: '127.0.0.1', port, path, method: 'POST', localAddress: CLIENT, headers: { 'content-type': 'application/json', ...headers } }, res => {
      res.resume()
      res.on('end', () => resolve(res.statusCode as number))
    })
    req.on('error', reject)
    req.end(body)
  })
}

test('no client address or port in any stored byte or log line', async t => {
  const log = new PassThrough()
  const lines: string[] = []
  log.on('data', chunk => lines.push(String(chunk)))
  const dataDir = t.testdir()
  const running = await startServer(serveConfig(['--data', dataDir, '--write-key', KEY, '--port', '0', '--log-level', 'trace']), log)
  const { port } = running.app.server.address() as { port: number }
  const peers: string[] = []
  running.app.server.on('connection', socket => peers.push(`${String(socket.remoteAddress)}:${String(socket.remotePort)}`))

  const statuses = [
    await send(port, '/v1/batch', batch([keepAlive(), keepAlive()]), { authorization: AUTH }),
    await send(port, '/v1/track', JSON.stringify(keepAlive()), { authorization: AUTH }),
    await send(port, '/v1/batch', '{"batch":[{}]}', { authorization: AUTH }),
    await send(port, '/v1/batch', batch([keepAlive()]), { authorization: 'Basic d3Jvbmc6' }),
    await send(port, '/nowhere', '{}', {})
  ]
  await running.close()
  t.same(statuses, [200, 200, 400, 401, 404])
  t.ok(peers.length > 0 && peers.every(peer => peer.startsWith(`${CLIENT}:`)), 'the server saw the client at 127.0.0.2')

  const logged = lines.join('')
  t.match(logged, /incoming request/, 'requests are logged')
  t.match(logged, /request completed/)
  const stored = (await listFiles(dataDir)).map(({ file }) => readFileSync(file))
  t.equal(stored.length, 1)
  const storedText = stored.map(bytes => bytes.toString('latin1') + gunzipSync(bytes).toString()).join('')
  for (const peer of peers) {
    const port = peer.split(':')[1]
    t.notOk(logged.includes(CLIENT), 'no address in the log')
    t.notOk(storedText.includes(CLIENT), 'no address stored')
    t.notOk(new RegExp(`"remotePort":${port}|[^0-9]${port}[^0-9]`).test(storedText), 'no client port stored')
    t.notOk(logged.includes('"remotePort"') || logged.includes('remoteAddress'), 'no address fields in the log')
  }
  t.notOk(storedText.includes('"ip":"127'), 'no context.ip added')
})
