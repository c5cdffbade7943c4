// `npm run demo`: the example bookshop, a local Segment-compatible collector, some traffic, and every event
// printed as it arrives. Stops by itself after one full cycle (identify, two reports, a keep-alive) and the final
// report sent on close, then runs the fleet analysis on the stored events (ingest, report) and prints where the
// stats page is, with a four-line summary (the last: its Features section). Only 127.0.0.1 is ever contacted.
//
//   npm run demo                  run one cycle (about 10 s) and exit
//   npm run demo -- --serve       keep running; curl the printed URL, Ctrl-C sends the final report
//   npm run demo -- --raw         print the raw JSON of every event, not only of the first one
import { randomBytes } from 'node:crypto'
import { analyze } from './analyze.mjs'
import { BATCH_PATH, eventName, startStoringCollector } from './stored-collector.mjs'
import { reportTable } from './report-table.mjs'
import { HEALTH_TOKEN_HEADER, KNOWN_ISBNS, buildServer } from './server.mjs'
import { bookshopTraffic, send } from './traffic.mjs'

const serve = process.argv.includes('--serve')
const raw = process.argv.includes('--raw')

// Seconds instead of the production minutes (identify after 15 min, report every 15 min, keep-alive every 5 min).
const INTERVALS = { identifyAfter: 2000, reportInterval: 5000, keepAliveInterval: 3000, flushTimeout: 2000 }
/** A demo that has not finished by then is broken; say so instead of hanging. */
const DEADLINE_MS = 25_000
const TRAFFIC_PAUSE_MS = 250

const startedAt = performance.now()
const seconds = () => ((performance.now() - startedAt) / 1000).toFixed(1).padStart(5)
const indent = (text, by = '        ') => text.split('\n').map(line => by + line).join('\n')
const short = id => `${id.slice(0, 8)}…`

const writeKey = `demo-${randomBytes(6).toString('hex')}`
const healthToken = randomBytes(8).toString('hex')
const collector = await startStoringCollector({ writeKey })
const app = await buildServer({ healthToken, telemetry: { writeKey, host: collector.url, ...INTERVALS } })
const base = await app.listen({ host: '127.0.0.1', port: serve ? Number(process.env.PORT ?? 3000) : 0 })

if (!app.telemetry.enabled || app.telemetry.dryRun) {
  console.log('DISABLE_TELEMETRY, DO_NOT_TRACK or TELEMETRY_DRY_RUN is set in this shell, so nothing would reach the ' +
    'collector.\nThe demo only talks to 127.0.0.1; run it with those variables unset to see what the plugin sends.')
  await app.close()
  await collector.close()
  process.exit(0)
}

console.log(`Bookshop API        ${base}   (examples/server.mjs)
Collector           ${collector.url}${BATCH_PATH}   (fastify-anonymous-telemetry-collector, stands in for api.segment.io)
Events stored in    ${collector.dataDir}/segment-logs/   (gzipped NDJSON, Segment's S3 layout)
Cluster id          ${app.telemetry.clusterId}
                    (SHA-512 of the issuer URL https://bookshop.example.com/: the anonymousId of every event)
Endpoint allow-list ${app.telemetry.endpoints.join(' ')}
Intervals           identify after ${INTERVALS.identifyAfter / 1000} s, report every ${INTERVALS.reportInterval / 1000} s, ` +
  `keep-alive every ${INTERVALS.keepAliveInterval / 1000} s
`)

const seen = { identify: 0, telemetry: 0, 'keep-alive': 0 }
let closing = false
let rawShown = false

collector.on('event', (event, json) => {
  const name = eventName(event)
  seen[name]++
  if (name === 'identify') {
    const t = event.traits
    console.log(`[${seconds()} s] identify    instance ${short(t.instanceId)}  ${t.os} ${t.arch}, ${t.numCpu} CPUs, ` +
      `node ${t.runtimeVersion}, app ${t.version} (${t.hash}, built ${t.buildTime})`)
  } else if (name === 'telemetry') {
    const p = event.properties
    const label = closing ? 'final report, sent on close' : `report ${seen.telemetry}`
    console.log(`[${seconds()} s] telemetry   ${label}: part ${p.part}/${p.parts}, uptime ${p.uptime} s` +
      (p.memory === undefined ? '' : `, rss ${Math.round(p.memory.rss / 2 ** 20)} MiB, ${p.memory.gcCycles} GC cycles`))
    console.log(indent(reportTable(p)))
    if (p.facts !== undefined) console.log(indent(features(p)))
  } else {
    console.log(`[${seconds()} s] keep-alive  instance ${short(event.properties.instanceId)}`)
  }
  if (raw || !rawShown) {
    rawShown = true
    console.log(indent(`raw JSON of this event, exactly as it arrived in the batch${raw ? '' : ' (--raw shows every event)'}:`))
    console.log(indent(json))
  }
  console.log()
  if (!serve && !closing && seen.identify >= 1 && seen.telemetry >= 2 && seen['keep-alive'] >= 1) finish().catch(fatal)
})

/** Part 1's feature facts and counters (examples/server.mjs sets the storage backend and counts orders created). */
function features ({ facts, features }) {
  const pairs = (entries, by) => entries.map(([name, value]) => `${name}${by}${value}`).join(', ') || 'none'
  return `facts: ${pairs(Object.entries(facts), '=')}; counters since start: ${pairs(Object.entries(features), ' ')}`
}

const TRAFFIC = bookshopTraffic(healthToken)

// With --serve, the traffic is yours.
const stopTraffic = new AbortController()
if (serve) stopTraffic.abort()
const trafficDone = (async function sendTraffic () {
  while (!stopTraffic.signal.aborted) {
    for (const request of TRAFFIC) await send(base, request)
    await new Promise(resolve => setTimeout(resolve, TRAFFIC_PAUSE_MS))
  }
})()

function fatal (error) {
  console.error('demo:', error)
  process.exit(1)
}

const deadline = setTimeout(() => {
  console.error(`demo: no full cycle within ${DEADLINE_MS / 1000} s (received ${JSON.stringify(seen)}); giving up`)
  process.exit(1)
}, DEADLINE_MS)

async function finish () {
  closing = true
  stopTraffic.abort()
  await trafficDone
  if (!serve) {
    // Traffic after the last report: the final report must carry it, or a shutdown would lose it.
    for (const request of TRAFFIC) await send(base, request)
  }
  console.log(`[${seconds()} s] closing the server: the plugin sends a final report within flushTimeout`)
  const reports = seen.telemetry
  await app.close()
  await collector.close()
  clearTimeout(deadline)
  if (seen.telemetry === reports) {
    console.error('demo: the final report did not arrive')
    process.exitCode = 1
    return
  }
  console.log(`[${seconds()} s] ${seen.identify} identify, ${seen.telemetry} telemetry, ${seen['keep-alive']} keep-alive ` +
    `stored in ${collector.dataDir}/segment-logs/\n\nFleet analysis of the stored events, with this package's command line:`)
  const { htmlPath, summary } = await analyze(collector.dataDir)
  console.log(`
Stats page          ${htmlPath}   (with stats.json beside it: a static folder to publish)
${summary.map(line => `  ${line}`).join('\n')}

Done in ${seconds().trim()} s. Run \`npm run demo -- --serve\` to keep the server up and curl it yourself.`)
}

if (serve) {
  clearTimeout(deadline)
  console.log(`Serving until Ctrl-C. Try:
  curl ${base}/books
  curl ${base}/books/${KNOWN_ISBNS[0]}
  curl ${base}/orders/42
  curl -H '${HEALTH_TOKEN_HEADER}: ${healthToken}' ${base}/health
First events after ${INTERVALS.identifyAfter / 1000} s of uptime.
`)
  process.once('SIGINT', () => finish().catch(fatal))
}
