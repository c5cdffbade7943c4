// One benchmark server, started by overhead.mjs in a child process of its own:
//   node benchmarks/server.mjs <variant> [collectorUrl]
// It tells its parent the port over IPC, then measures its own CPU time between a `start` and a `stop` message,
// so the figure counts this process only: not the load generator, not the collector.
import { once } from 'node:events'
import Fastify from 'fastify'
import fastifyMetrics from 'fastify-metrics'
import fastifyTelemetry from '../dist/index.js'
import { telemetryOptions } from './child.mjs'

// The allow-list of the telemetry variant: both routes are reported under an endpoint of their own.
const ENDPOINTS = ['/hello', '/users']

async function register (app, variant, collectorUrl) {
  switch (variant) {
    case 'bare':
      return
    case 'empty-hooks':
      app.addHook('onRequest', (request, reply, done) => done())
      app.addHook('onResponse', (request, reply, done) => done())
      return
    case 'telemetry-on':
      await app.register(fastifyTelemetry, telemetryOptions(collectorUrl, ENDPOINTS))
      return
    case 'telemetry-off':
      await app.register(fastifyTelemetry, { enabled: false })
      return
    case 'fastify-metrics':
      await app.register(fastifyMetrics)
      return
    default:
      throw new Error(`unknown variant ${variant}`)
  }
}

async function main () {
  const [variant, collectorUrl] = process.argv.slice(2)
  const app = Fastify()
  await register(app, variant, collectorUrl)
  app.get('/hello', async () => ({ hello: 'world' }))
  app.get('/users/:id', async request => ({ id: request.params.id }))
  await app.listen({ port: 0, host: '127.0.0.1' })

  // The load generator stops reading once it has its count, with pipelined requests still in flight: the
  // measurement window opens and closes only when every connection of the previous load has closed.
  const sockets = new Set()
  app.server.on('connection', socket => {
    sockets.add(socket)
    socket.on('close', () => sockets.delete(socket))
  })
  const quiet = async () => {
    while (sockets.size > 0) await once([...sockets][0], 'close')
  }

  let started = null
  process.on('message', async message => {
    if (message === 'start') {
      await quiet()
      started = process.cpuUsage()
      process.send({ type: 'started' })
    } else if (message === 'stop') {
      await quiet()
      const { user, system } = process.cpuUsage(started)
      const snapshot = app.telemetry?.snapshot() ?? null
      process.send({ type: 'stopped', user, system, telemetryRequests: snapshot?.requests ?? null })
    }
  })
  // The parent hangs up when it is done with this server, or when it died.
  process.on('disconnect', () => app.close().then(() => process.exit(0)))
  process.send({ type: 'listening', port: app.server.address().port })
}

await main()
