// A Segment-compatible collector for the demo and the docs capture: `POST /v1/batch` with Basic auth of the write
// key, on 127.0.0.1 only. It stands in for api.segment.io so that a run shows, byte for byte, what would leave the
// process, without anything leaving the machine.
import { EventEmitter, once } from 'node:events'
import { createServer } from 'node:http'

export const BATCH_PATH = '/v1/batch'

/**
 * Starts the collector on a free loopback port. Emits `event` for every event of every accepted batch, in
 * arrival order, with the parsed event and its raw JSON text.
 */
export async function startCollector ({ writeKey }) {
  const collector = new EventEmitter()
  const expectedAuth = `Basic ${Buffer.from(`${writeKey}:`).toString('base64')}`
  const sockets = new Set()
  const server = createServer((req, res) => {
    if (req.method !== 'POST' || req.url !== BATCH_PATH) return res.writeHead(404).end()
    if (req.headers.authorization !== expectedAuth) return res.writeHead(401).end('{"error":"bad write key"}')
    const chunks = []
    req.on('data', chunk => chunks.push(chunk))
    req.on('end', () => {
      let batch
      try {
        batch = JSON.parse(Buffer.concat(chunks).toString('utf8')).batch
      } catch {
        return res.writeHead(400).end('{"error":"not JSON"}')
      }
      res.writeHead(200, { 'content-type': 'application/json' }).end('{"success":true}')
      for (const event of batch) collector.emit('event', event, JSON.stringify(event, null, 2))
    })
  })
  server.on('connection', socket => {
    sockets.add(socket)
    socket.on('close', () => sockets.delete(socket))
  })
  server.listen(0, '127.0.0.1')
  await once(server, 'listening')

  collector.url = `http://127.0.0.1:${server.address().port}`
  collector.close = async () => {
    // The plugin's keep-alive sockets would otherwise hold `close` open.
    for (const socket of sockets) socket.destroy()
    server.close()
    await once(server, 'close')
  }
  return collector
}

/** `identify`, `telemetry` or `keep-alive`: the name the docs and schemas use for an event. */
export function eventName (event) {
  return event.type === 'identify' ? 'identify' : event.event
}
