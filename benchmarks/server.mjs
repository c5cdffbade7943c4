// One benchmark server, started by overhead.mjs in a child process of its own:
//   node benchmarks/server.mjs <variant> [collectorUrl]
// It tells its parent the port over IPC, then measures its own CPU time between a `start` and a `stop` message,
// so the figure counts this process only: not the load generator, not the collector.
// Only Fastify is imported here: the variant imports what it uses (variants.mjs), so `bare` loads nothing else.
import { once } from 'node:events'
import Fastify from 'fastify'
import { VARIANTS, buildApp } from './variants.mjs'

async function main () {
  const [variant, collectorUrl] = process.argv.slice(2)
  if (!(variant in VARIANTS)) throw new Error(`unknown variant ${variant}`)
  const app = await buildApp(Fastify, variant, await VARIANTS[variant].load(), collectorUrl)
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
  let startedAt = null
  // On V8's profiler clock (CLOCK_MONOTONIC in µs), so that a profile can be cut to the measurement window.
  const micros = () => Number(process.hrtime.bigint() / 1000n)
  process.on('message', async message => {
    if (message === 'start') {
      await quiet()
      started = process.cpuUsage()
      startedAt = micros()
      process.send({ type: 'started' })
    } else if (message === 'stop') {
      await quiet()
      const { user, system } = process.cpuUsage(started)
      const window = [startedAt, micros()]
      const snapshot = app.telemetry?.snapshot() ?? null
      process.send({ type: 'stopped', user, system, window, telemetryRequests: snapshot?.requests ?? null })
    }
  })
  // The parent hangs up when it is done with this server, or when it died.
  process.on('disconnect', () => app.close().then(() => process.exit(0)))
  process.send({ type: 'listening', port: app.server.address().port })
}

await main()
