import { once } from 'node:events'
import { createServer } from 'node:http'
import type { AddressInfo } from 'node:net'
import { performance } from 'node:perf_hooks'
import t, { test, type Test } from 'tap'
import { CollectorAnswer, DeadlineExceeded, createUndiciTransport } from '../lib/transport'
import { buildApp, telemetryOptions } from './helpers/app'
import { Collector } from './helpers/collector'
import { useEnv } from './helpers/env'
import { closeInOrder, liveApp } from './helpers/live'
import { ForwardProxy, MuteProxy, useProxyEnv } from './helpers/proxy'

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
  const transport = createUndiciTransport(5000)
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

test('any answer but 2xx is a failure carrying its status, a redirect said not to be followed', async t => {
  const server = createServer((request, response) => {
    request.resume()
    request.on('end', () => response.writeHead(Number(request.url?.slice(1))).end())
  })
  server.listen(0, '127.0.0.1')
  await once(server, 'listening')
  const transport = createUndiciTransport(5000)
  t.teardown(async () => {
    await transport.destroy()
    server.close()
  })
  const base = `http://127.0.0.1:${(server.address() as AddressInfo).port}`
  const send = async (status: number): Promise<unknown> => transport.makeRequest({
    url: `${base}/${status}`, method: 'POST', headers: {}, body: '{}', httpRequestTimeout: 5000
  })
  t.type(await send(308).catch((error: unknown) => error), CollectorAnswer)
  await t.rejects(send(308), { status: 308, message: 'collector answered 308 Permanent Redirect (redirects are not followed)' })
  await t.rejects(send(399), { status: 399, message: 'collector answered 399 (redirects are not followed)' })
  await t.rejects(send(460), { status: 460, message: 'collector answered 460' })
  await t.rejects(send(503), { status: 503, message: 'collector answered 503 Service Unavailable' })
  await t.resolves(send(204))
})

test('a proxy that never answers CONNECT holds a request no longer than its deadline; the next one starts afresh', async t => {
  const proxy = await MuteProxy.start()
  t.teardown(() => proxy.close())
  useProxyEnv(t, { HTTP_PROXY: proxy.url })
  const collector = await Collector.start()
  t.teardown(() => collector.close())
  const deadline = 1000
  const transport = createUndiciTransport(deadline)
  t.teardown(() => transport.destroy())
  const send = async (): Promise<unknown> => transport.makeRequest({
    url: `${collector.url}/v1/batch`, method: 'POST', headers: {}, body: '{"batch":[]}', httpRequestTimeout: deadline
  })
  for (const attempt of [1, 2]) {
    const started = performance.now()
    await t.rejects(send(), new DeadlineExceeded(deadline))
    const elapsed = performance.now() - started
    // undici's own timers are coarse (~0.5 s); the bound only has to tell a deadline from undici's 300 s defaults.
    t.ok(elapsed < deadline + 5000, `attempt ${attempt} rejected after ${Math.round(elapsed)} ms (deadline ${deadline} ms)`)
    t.equal(proxy.connects, attempt, 'each attempt asked the proxy for a tunnel on a fresh connection')
  }
  t.equal(collector.requests, 0)
})
