// The demo's Segment-compatible collector (examples/collector.mjs) in a process of its own, so that receiving
// reports costs the benchmarked server nothing it would not pay against the real Segment API. Started with
// startChild(); it answers the message `stats` with what it received: one summary per event, never the event itself.
// It exits when its parent hangs up.
import { startCollector, eventName } from '../examples/collector.mjs'
import { BENCH_WRITE_KEY } from './variants.mjs'

const events = []

function summarize (event) {
  const properties = event.properties ?? {}
  return {
    event: eventName(event),
    bytes: Buffer.byteLength(JSON.stringify(event)),
    reportId: properties.reportId ?? null,
    part: properties.part ?? null,
    parts: properties.parts ?? null,
    requests: properties.requests ?? null,
    paths: properties.paths === undefined ? null : Object.keys(properties.paths)
  }
}

const collector = await startCollector({ writeKey: BENCH_WRITE_KEY })
collector.on('event', event => events.push(summarize(event)))

process.on('message', message => {
  if (message === 'stats') process.send({ events })
})
process.on('disconnect', () => process.exit(0))
process.send({ url: collector.url })
