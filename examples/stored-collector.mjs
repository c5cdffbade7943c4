// The demo's collector: this repository's own receiver (the `collector/` workspace package,
// fastify-anonymous-telemetry-collector) on 127.0.0.1, storing every accepted batch durably in Segment's S3
// layout under a temporary data directory. It stands in for api.segment.io. After each stored batch it reads the
// new gzip members back from disk and emits `event` for each stored event, with the event as the plugin sent it
// (the stored line minus the receivedAt and sentAt the collector adds) and its JSON text.
import { EventEmitter } from 'node:events'
import { mkdtempSync } from 'node:fs'
import { createRequire } from 'node:module'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import Fastify from 'fastify'

const require = createRequire(import.meta.url)
const { telemetryCollector, listFiles, readMembers } = require('../collector/dist/index.js')

export { BATCH_PATH, eventName } from './collector.mjs'

export async function startStoringCollector ({ writeKey }) {
  const collector = new EventEmitter()
  const dataDir = mkdtempSync(join(tmpdir(), 'telemetry-demo-'))
  const app = Fastify()
  await app.register(telemetryCollector, { dataDir, writeKeys: [writeKey] })
  const offsets = new Map()
  let reading = Promise.resolve()
  const readNew = async () => {
    for (const { file } of await listFiles(dataDir)) {
      for await (const member of readMembers(file, offsets.get(file) ?? 0)) {
        offsets.set(file, member.end)
        for (const line of member.lines) {
          const { receivedAt, sentAt, ...event } = JSON.parse(line)
          collector.emit('event', event, JSON.stringify(event, null, 2))
        }
      }
    }
  }
  app.addHook('onResponse', async (request, reply) => {
    if (reply.statusCode === 200 && request.method === 'POST') reading = reading.then(readNew)
  })
  collector.url = await app.listen({ port: 0, host: '127.0.0.1' })
  collector.dataDir = dataDir
  collector.close = async () => {
    await app.close()
    await reading
  }
  return collector
}
