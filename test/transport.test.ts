import t, { test, type Test } from 'tap'
import { createUndiciTransport } from '../lib/transport'
import { buildApp, telemetryOptions } from './helpers/app'
import { Collector } from './helpers/collector'
import { useEnv } from './helpers/env'
import { closeInOrder, liveApp } from './helpers/live'
import { ForwardProxy, useProxyEnv } from './helpers/proxy'

useEnv(t)
useProxyEnv(t)

/** A proxy closed after everything `t` started later, so the app's final report still finds it. */
async function startProxy (t: Test): Promise<ForwardProxy> {
  const proxy = await ForwardProxy.start()
  t.teardown(() => proxy.close())
  return proxy
}

test('batches go through the proxy named in HTTP_PROXY', async t => {
  const proxy = await startProxy(t)
  useProxyEnv(t, { HTTP_PROXY: proxy.url })
  const { collector } = await liveApp(t)
  await collector.waitForEvents('identify')
  const collectorHost = new URL(collector.url).host
  t.ok(proxy.tunnels.length > 0, 'the proxy was asked for a tunnel')
  t.ok(proxy.tunnels.every(target => target === collectorHost), `tunnels: ${proxy.tunnels.join(', ')}`)
})

test('NO_PROXY exempts a host from the proxy', async t => {
  const proxy = await startProxy(t)
  useProxyEnv(t, { HTTP_PROXY: proxy.url, NO_PROXY: '127.0.0.1' })
  const { collector } = await liveApp(t)
  await collector.waitForEvents('identify')
  t.strictSame(proxy.tunnels, [])
})

test('https:// batches, as to the default Segment host, go through the proxy named in HTTPS_PROXY', async t => {
  const proxy = await startProxy(t)
  useProxyEnv(t, { HTTPS_PROXY: proxy.url })
  // Nothing on loopback speaks TLS: the request fails once through the tunnel, after the proxy saw where it went.
  const collector = await Collector.start()
  t.teardown(() => collector.close())
  const transport = createUndiciTransport()
  t.teardown(() => transport.destroy())
  const target = new URL(collector.url)
  target.protocol = 'https:'
  await t.rejects(transport.makeRequest({
    url: `${target.origin}/v1/batch`, method: 'POST', headers: {}, body: '{"batch":[]}', httpRequestTimeout: 5000
  }))
  t.strictSame(proxy.tunnels, [target.host])
})

test('close() releases every connection the plugin opened to the collector', async t => {
  const collector = await Collector.start()
  // Idle connections would otherwise stay open for 10 minutes: only the plugin closing them ends them here.
  collector.keepIdleConnections()
  const app = await buildApp(telemetryOptions(collector))
  closeInOrder(t, { collector, app })
  await collector.waitForEvents('telemetry')
  t.ok(collector.connections > 0, 'the plugin keeps its connection open between batches')
  await app.close()
  await collector.waitForNoConnections()
  t.equal(collector.connections, 0)
})
