'use strict'

// What a feature call costs where the app makes it: `counter(name).inc()` on a handle got once, and `fact()`, on a
// registration with telemetry on and one with it off, in a loop beside an empty function call. Garbage collections
// during the loops are counted: none over millions of calls means the calls allocate nothing.
// `npm run build && node benchmarks/feature-cost.cjs`. Nanoseconds per call, per round.
const { PerformanceObserver } = require('node:perf_hooks')
const Fastify = require('fastify')
const telemetry = require('../dist/index.js')

const N = 10_000_000
const ROUNDS = 5
const FEATURES = { facts: { storage: ['postgres', 'sqlite'] }, counters: ['exports'] }

async function app (enabled) {
  const fastify = Fastify()
  await fastify.register(telemetry, {
    enabled,
    writeKey: 'never-used',
    issuerUrl: 'https://bench.example.com/',
    host: 'http://127.0.0.1:9',
    endpoints: ['/'],
    identifyAfter: 2_147_483_647,
    features: FEATURES
  })
  await fastify.ready()
  return fastify
}

async function main () {
  const on = await app(true)
  const off = await app(false)
  let collections = 0
  const observer = new PerformanceObserver(list => { collections += list.getEntries().length })
  observer.observe({ entryTypes: ['gc'] })
  const measure = async fn => {
    const before = collections
    const start = process.hrtime.bigint()
    for (let i = 0; i < N; i++) fn()
    const ns = (Number(process.hrtime.bigint() - start) / N).toFixed(2)
    // The observer hears of the loop's collections only once the loop has yielded.
    await new Promise(resolve => setTimeout(resolve, 10))
    return `${ns} ns (${collections - before} GCs)`
  }
  const onCounter = on.telemetry.counter('exports')
  const offCounter = off.telemetry.counter('exports')
  const empty = () => {}
  for (let round = 0; round < ROUNDS; round++) {
    const incOn = await measure(() => onCounter.inc())
    const incOff = await measure(() => offCounter.inc())
    const factOn = await measure(() => on.telemetry.fact('storage', 'sqlite'))
    const factOff = await measure(() => off.telemetry.fact('storage', 'sqlite'))
    const call = await measure(empty)
    console.log(`round ${round}: inc() on ${incOn}, off ${incOff}; fact() on ${factOn}, off ${factOff}; empty call ${call}`)
  }
  observer.disconnect()
  await on.close()
  await off.close()
}

main()
