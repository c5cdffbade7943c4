// A Segment-compatible sink in a process of its own (`POST /v1/batch`), so that receiving reports costs the
// benchmarked server nothing it would not pay against the real Segment API. Started with startChild(); it
// answers the message `stats` with what it received: one summary per event, never the event itself. It exits when
// its parent hangs up.
import { createServer } from 'node:http'
import { once } from 'node:events'

const events = []
let batches = 0

function summarize (event) {
  const properties = event.properties ?? {}
  return {
    event: event.type === 'identify' ? 'identify' : event.event,
    bytes: Buffer.byteLength(JSON.stringify(event)),
    reportId: properties.reportId ?? null,
    part: properties.part ?? null,
    parts: properties.parts ?? null,
    requests: properties.requests ?? null,
    paths: properties.paths === undefined ? null : Object.keys(properties.paths)
  }
}

const server = createServer((req, res) => {
  const chunks = []
  req.on('data', chunk => chunks.push(chunk))
  req.on('end', () => {
    if (req.method !== 'POST' || req.url !== '/v1/batch') {
      res.writeHead(404).end()
      return
    }
    batches++
    for (const event of JSON.parse(Buffer.concat(chunks).toString('utf8')).batch) events.push(summarize(event))
    res.writeHead(200, { 'content-type': 'application/json' }).end('{"success":true}')
  })
})

server.listen(0, '127.0.0.1')
await once(server, 'listening')

process.on('message', message => {
  if (message === 'stats') {
    process.send({ batches, events })
  }
})
process.on('disconnect', () => process.exit(0))
process.send({ url: `http://127.0.0.1:${server.address().port}` })
