import { fork } from 'node:child_process'
import { once } from 'node:events'
import { join } from 'node:path'
import { test } from 'tap'
import { Collector } from './helpers/collector'

// The plugin is a guest: at every stage of its life the host's process must look as it did before the import.
// Each case runs in a fresh child process (test/fixtures/host-stages.js, built package), so that its globals and its
// require.cache are pristine. The baseline is taken once every descriptor of globalThis has been read (on Node 22 and
// later that alone loads Node's own undici, which fills the dispatcher slots); a negative control proves that a
// dispatcher installed after it is still seen.

const STAGES = join(__dirname, 'fixtures', 'host-stages.js')

interface StageFacts {
  stage: 'import' | 'register' | 'ready' | 'sent' | 'close'
  /** What changed on globalThis since before the import: `added x`, `changed x`, `removed x`. */
  differences: string[]
  /** Files of @segment/*, undici, jose and tslib in require.cache. */
  loaded: string[]
  /** What Node's own fetch answered to a PUT with content-length: 0, or `null` when not asked. */
  fetch: number | string | null
  /** At `ready`: how many bodies `fastify.telemetry.preview()` returned, just before the facts were taken. */
  previewed?: number
}

interface Case {
  telemetry: 'on' | 'off' | 'dry-run'
  identifyAfter: number
  what: string
  stages: Array<StageFacts['stage']>
}

const CASES: Case[] = [
  { telemetry: 'on', identifyAfter: 1, what: 'telemetry on, through its first send', stages: ['import', 'register', 'ready', 'sent', 'close'] },
  { telemetry: 'on', identifyAfter: 3_600_000, what: 'telemetry on, closed before identifyAfter', stages: ['import', 'register', 'ready', 'close'] },
  { telemetry: 'off', identifyAfter: 1, what: 'telemetry off', stages: ['import', 'register', 'ready', 'close'] },
  { telemetry: 'dry-run', identifyAfter: 1, what: 'dry run, through its first logged event', stages: ['import', 'register', 'ready', 'sent', 'close'] }
]

/** Runs the fixture; answers each stage, holding `ready` until the collector has the identify when a send is due. */
async function runStages (collector: Collector, testCase: Case, useFetch: boolean, control = false): Promise<StageFacts[]> {
  const config = { telemetry: testCase.telemetry, identifyAfter: testCase.identifyAfter, fetch: useFetch, collectorUrl: collector.url, control }
  const child = fork(STAGES, [JSON.stringify(config)], {
    env: { ...process.env, DISABLE_TELEMETRY: '', DO_NOT_TRACK: '', TELEMETRY_DRY_RUN: '', _TAPJS_PROCESSINFO_COVERAGE_: '0' },
    stdio: ['ignore', 'inherit', 'inherit', 'ipc']
  })
  const exited = once(child, 'exit')
  const facts: StageFacts[] = []
  child.on('message', (message: StageFacts) => {
    facts.push(message)
    const sends = testCase.telemetry === 'on' && testCase.stages.includes('sent')
    const ready = message.stage === 'ready' && sends ? collector.waitForEvents('identify') : Promise.resolve()
    ready.then(() => child.connected && child.send('go'), () => {})
  })
  const [code] = await exited
  if (code !== 0) throw new Error(`host-stages exited with ${String(code)}`)
  return facts
}

/** The sending side's packages; none may be loaded before the first event is due, and dry run loads none of them ever. */
const SENDING_SIDE = /^(@segment\/|undici\/|jose\/|tslib\/)/
/** What would install undici 7's Agent as the process-wide dispatcher. */
const UNDICI_GLOBAL = ['undici/index.js', 'undici/lib/global.js']

for (const testCase of CASES) {
  for (const useFetch of [false, true]) {
    test(`${testCase.what}${useFetch ? ', the host using Node\'s fetch at every stage' : ', the host never calling fetch'}`, async t => {
      const collector = await Collector.start()
      t.teardown(() => collector.close())
      const facts = await runStages(collector, testCase, useFetch)
      t.strictSame(facts.map(stage => stage.stage), testCase.stages, 'every stage was seen')
      t.equal(facts.find(stage => stage.stage === 'ready')?.previewed, testCase.telemetry === 'off' ? 0 : 1,
        'fastify.telemetry.preview() was called before the facts of ready were taken')

      for (const stage of facts) {
        t.strictSame(stage.differences, [], `after ${stage.stage}: globalThis has the same own names, symbols and values ` +
          '(the host\'s own __extends and __awaiter included; the undici dispatcher slots as they were)')
        if (useFetch) t.equal(stage.fetch, 200, `after ${stage.stage}: Node's fetch PUT with content-length: 0 answers 200`)
        t.strictSame(stage.loaded.filter(file => UNDICI_GLOBAL.includes(file)), [], `after ${stage.stage}: undici's index.js and lib/global.js never loaded`)
        const sendingLoaded = stage.loaded.some(file => SENDING_SIDE.test(file))
        if (testCase.telemetry === 'on' && (stage.stage === 'sent' || (stage.stage === 'close' && testCase.stages.includes('sent')))) {
          t.ok(stage.loaded.includes('@segment/analytics-node/dist/cjs/index.js'), `after ${stage.stage}: the Segment SDK is loaded, for the send`)
        } else {
          t.notOk(sendingLoaded, `after ${stage.stage}: nothing of the Segment SDK, undici, jose or tslib is loaded (${stage.loaded.join(', ')})`)
        }
      }
      if (testCase.telemetry === 'on' && testCase.stages.includes('sent')) {
        t.ok(collector.named('identify').length === 1, 'the identify did arrive')
      } else {
        t.equal(collector.requests, 0, 'nothing reached the collector')
      }
    })
  }
}

/** The slot undici (npm's and Node's own) keeps the process-wide dispatcher in. */
const DISPATCHER_SLOT = 'Symbol(undici.globalDispatcher.1)'

for (const useFetch of [false, true]) {
  test(`negative control: a dispatcher the host installs after the baseline is reported at every stage${useFetch ? ', the host using Node\'s fetch' : ''}`, async t => {
    const collector = await Collector.start()
    t.teardown(() => collector.close())
    const testCase = CASES.find(({ telemetry }) => telemetry === 'off') as Case
    const facts = await runStages(collector, testCase, useFetch, true)
    t.strictSame(facts.map(stage => stage.stage), testCase.stages, 'every stage was seen')
    for (const stage of facts) {
      t.ok(stage.differences.some(difference => difference.endsWith(DISPATCHER_SLOT)),
        `after ${stage.stage}: npm undici's setGlobalDispatcher is seen (${stage.differences.join(', ')})`)
    }
  })
}
