import { test } from 'tap'
import { Collector } from './helpers/collector'
import { buildApp, telemetryOptions } from './helpers/app'

test('smoke', async t => {
  const collector = await Collector.start()
  t.teardown(() => collector.close())
  const app = await buildApp(telemetryOptions(collector))
  await app.inject('/clients/123?secret=1')
  await app.inject('/nope')
  await app.inject({ method: 'POST', url: '/clients/1/secret' })
  await app.inject('/private')
  await collector.waitForEvents('telemetry', 1)
  await collector.waitForEvents('keep-alive', 1)
  await app.close()
  console.log(JSON.stringify(collector.events.slice(0, 2), null, 1).slice(0, 4000))
  console.log(collector.events.map(e => e.type + ':' + e.event))
  t.pass()
})
