import Fastify from 'fastify'
import t, { test } from 'tap'
import fastifyTelemetry from '../lib/index'
import { MAX_TIMER_MS } from '../lib/options'
import { telemetryOptions } from './helpers/app'
import { Collector } from './helpers/collector'
import { useEnv } from './helpers/env'
import { LEVEL, LogSink } from './helpers/log-sink'

useEnv(t)

// The Segment SDK counts a 3xx as delivered: a collector URL that redirects (http -> https, say) would silently
// lose everything, identify included. Here any non-2xx is a failure; redirects are not followed, so the write key
// goes to `host` and nowhere else.

for (const status of [301, 302, 307] as const) {
  test(`a ${status} answer is a failed delivery: told with its status, not followed, the identify sent again`, async t => {
    const collector = await Collector.start()
    const elsewhere = await Collector.start()
    collector.fault = String(status) as '301' | '302' | '307'
    collector.redirectTo = `${elsewhere.url}/v1/batch`
    const logs = new LogSink()
    const app = Fastify({ logger: { level: 'debug', stream: logs.stream } })
    t.teardown(async () => {
      await app.close()
      await collector.close()
      await elsewhere.close()
    })
    await app.register(fastifyTelemetry, telemetryOptions(collector, { reportInterval: 400, keepAliveInterval: MAX_TIMER_MS }))
    await app.ready()

    await logs.waitFor('event not delivered')
    const [line] = logs.matching('event not delivered')
    // The first of its kind in the process is a warning with a hint; later ones stay at debug (test/failures.test.ts).
    t.match(line, { level: LEVEL.warn, kind: 'identify', status, msg: `collector answered ${status}): redirects are not followed` })
    t.match(collector.wire[0], /"type":"identify"/, 'the first attempt was the identify')

    collector.fault = 'ok'
    const afterRecovery = (): string[] => collector.names.slice(collector.names.indexOf('identify'))
    await collector.waitFor(() => afterRecovery().length >= 2)
    t.strictSame(afterRecovery().slice(0, 2), ['identify', 'telemetry'], 'the lost identify went again, ahead of the next report')
    t.equal(elsewhere.requests, 0, 'the redirect was not followed: the write key went nowhere else')
  })
}
