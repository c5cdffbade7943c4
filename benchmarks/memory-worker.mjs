// One app under hostile cardinality, started by memory.mjs with --expose-gc:
//   node --expose-gc benchmarks/memory-worker.mjs <bare|telemetry-on> <requests> <collectorUrl>
// Every request has a URL never seen before: random ids in parametric routes, random 404 paths and methods, random
// query strings, and every status code from 200 to 599. Reports heap used before and after over IPC.
import { randomBytes } from 'node:crypto'
import { setImmediate as tick } from 'node:timers/promises'
import Fastify from 'fastify'
import fastifyTelemetry from 'fastify-anonymous-telemetry'
import { heapUsed } from './heap.mjs'
import { telemetryOptions } from './variants.mjs'

const ENDPOINTS = ['/hello', '/users', '/status', '/files']
const NOT_FOUND_METHODS = ['GET', 'POST', 'PUT', 'DELETE', 'PATCH', 'OPTIONS', 'PROPFIND', 'MKCOL']
const CONCURRENCY = 100
// Long enough for several reports: the code that builds and sends them is compiled and optimized by then.
const WARMUP = 100_000

const random = () => randomBytes(6).toString('hex')

/** The `i`-th request: distinct for every `i` (and from every warm-up request, through `prefix`). */
function requestFor (prefix, i) {
  const id = `${prefix}${i}-${random()}`
  switch (i % 5) {
    case 0: return { method: 'GET', url: `/users/${id}` }
    case 1: return { method: 'POST', url: `/users/${id}/posts/${random()}?draft=${random()}` }
    case 2: return { method: NOT_FOUND_METHODS[i % NOT_FOUND_METHODS.length], url: `/${random()}/${id}` }
    case 3: return { method: 'GET', url: `/hello?${random()}=${id}` }
    default: return { method: 'GET', url: `/status/${200 + (Math.floor(i / 5) % 400)}?${id}` }
  }
}

async function send (app, prefix, count) {
  for (let start = 0; start < count; start += CONCURRENCY) {
    const batch = []
    for (let i = start; i < Math.min(start + CONCURRENCY, count); i++) batch.push(app.inject(requestFor(prefix, i)))
    await Promise.all(batch)
    // inject() settles on microtasks alone; without a turn of the event loop, what light-my-request schedules with
    // setImmediate (the end of each simulated request and socket write) would pile up for the whole million and
    // hold every request alive: gigabytes, and nothing a real server, whose loop turns on every read, ever does.
    await tick()
  }
}

const [variant, requests, collectorUrl] = process.argv.slice(2)
const app = Fastify()
if (variant === 'telemetry-on') {
  await app.register(fastifyTelemetry, telemetryOptions(collectorUrl, ENDPOINTS))
}
app.get('/hello', async () => ({ hello: 'world' }))
app.get('/users/:id', async request => ({ id: request.params.id }))
app.post('/users/:id/posts/:post', async request => ({ post: request.params.post }))
app.get('/files/*', async () => 'file')
app.get('/status/:code', async (request, reply) => reply.code(Number(request.params.code)).send())
await app.ready()
process.on('disconnect', () => app.close().then(() => process.exit(0)))

await send(app, 'w', WARMUP)
const before = await heapUsed()
// The heap after every tenth of the run: a leak climbs from checkpoint to checkpoint, noise does not.
const checkpoints = []
const tenth = Math.ceil(Number(requests) / 10)
const started = performance.now()
for (let sent = 0; sent < Number(requests); sent += tenth) {
  await send(app, `m${sent}-`, Math.min(tenth, Number(requests) - sent))
  checkpoints.push(await heapUsed())
}
const seconds = (performance.now() - started) / 1000
const after = checkpoints[checkpoints.length - 1]
const snapshot = app.telemetry?.snapshot() ?? null
process.send({
  variant,
  warmup: WARMUP,
  requests: Number(requests),
  seconds,
  heapBefore: before,
  heapAfter: after,
  checkpoints,
  growth: after - before,
  growthAfterFirstTenth: after - checkpoints[0],
  ...(snapshot === null
    ? {}
    : {
        counted: snapshot.requests,
        paths: Object.keys(snapshot.paths),
        statusCodes: Object.keys(snapshot.status).length
      })
})
