'use strict'

// The plugin's own cost per request: its onRequest and onResponse hooks called back to back on a real Fastify
// request/reply pair (a parametric route), in a loop, beside a bare read of `request.routeOptions` (the one read
// the hooks make). `npm run build && node benchmarks/hook-cost.cjs`. Nanoseconds per request, per round.
const Fastify = require('fastify')
const { Recorder, kCell } = require('../dist/recorder.js')

const N = 5_000_000
const ROUNDS = 5

async function main () {
  const app = Fastify()
  let captured
  app.get('/clients/:id', (request, reply) => { captured = { request, reply }; reply.send('x') })
  await app.ready()
  await app.inject('/clients/1')
  await app.close()
  const { request, reply } = captured
  // As on a real socket: Node's parser sets `upgrade: false` on every request it does not hand to an 'upgrade'
  // listener; `inject` leaves it unset, which would add the injectWS check (a header read) to every call.
  request.raw.upgrade = false
  const recorder = new Recorder(['/clients'])
  const done = () => {}
  const nsPerCall = fn => {
    const start = process.hrtime.bigint()
    for (let i = 0; i < N; i++) fn()
    return (Number(process.hrtime.bigint() - start) / N).toFixed(1)
  }
  for (let round = 0; round < ROUNDS; round++) {
    const hooks = nsPerCall(() => {
      request[kCell] = null
      recorder.telemetryOnRequest(request, reply, done)
      recorder.telemetryOnResponse(request, reply, done)
    })
    const routeOptions = nsPerCall(() => request.routeOptions)
    console.log(`round ${round}: onRequest + onResponse ${hooks} ns/request, of which request.routeOptions ~${routeOptions} ns`)
  }
}

main()
