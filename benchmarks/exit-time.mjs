// How long an app whose own handles are gone takes to exit once telemetry has had an answer from its collector:
// test/fixtures/exit-app.js (telemetry on, default intervals, identifyAfter 1 ms) against a collector on 127.0.0.1
// that answers at once; the app's IPC channel, its only other handle, is closed as soon as the collector has
// answered the first request. Each run is a fresh process; the same runs with `--liftoff-only` show what the wait is:
// Node, before exiting, waits for V8's background TurboFan compilation of undici's WebAssembly HTTP parser, which the
// first parsed answer starts. `node benchmarks/exit-time.mjs [runs]` (npm run build first).
import { fork } from 'node:child_process'
import { once } from 'node:events'
import { createServer } from 'node:http'
import { fileURLToPath } from 'node:url'
import { medianWithInterval } from './statistics.mjs'

const APP = fileURLToPath(new URL('../test/fixtures/exit-app.js', import.meta.url))
const RUNS = Number(process.argv[2] ?? 11)

let answered = () => {}
const collector = createServer((request, response) => {
  request.resume()
  request.on('end', () => {
    response.setHeader('content-type', 'application/json')
    response.end('{"success":true}', () => answered())
  })
})
collector.listen(0, '127.0.0.1')
await once(collector, 'listening')
const url = `http://127.0.0.1:${collector.address().port}`

async function exitMs (execArgv) {
  const env = { ...process.env, DISABLE_TELEMETRY: '', DO_NOT_TRACK: '', TELEMETRY_DRY_RUN: '', HTTP_PROXY: '', HTTPS_PROXY: '', http_proxy: '', https_proxy: '' }
  const child = fork(APP, [url, 'exit', 'default'], { env, execArgv, stdio: ['ignore', 'inherit', 'inherit', 'ipc'] })
  const exited = once(child, 'exit')
  await once(child, 'message')
  await new Promise(resolve => { answered = resolve })
  const start = performance.now()
  child.disconnect()
  await exited
  return performance.now() - start
}

const results = { default: [], '--liftoff-only': [] }
for (let run = 0; run < RUNS; run++) {
  results.default.push(await exitMs([]))
  results['--liftoff-only'].push(await exitMs(['--liftoff-only']))
}
collector.close()
for (const [flags, values] of Object.entries(results)) {
  const { median, low, high } = medianWithInterval(values)
  console.log(`${flags.padEnd(15)} exit ${median.toFixed(0)} ms [${low.toFixed(0)}, ${high.toFixed(0)}] after the last other handle closed (median of ${RUNS} fresh processes, min ${Math.min(...values).toFixed(0)}, max ${Math.max(...values).toFixed(0)})`)
}
