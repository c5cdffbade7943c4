import { spawnSync } from 'node:child_process'
import { existsSync, readdirSync, readFileSync, writeFileSync } from 'node:fs'
import { join } from 'node:path'
import { test } from 'tap'
import { KEY } from './helpers/collector'
import { spawnServe } from './helpers/serve-process'

const DEPLOY = join(__dirname, '..', 'deploy')
const CLI = join(__dirname, '..', 'dist', 'cli.js')
/** Where the units expect the bin: `npm install -g` puts it there. */
const BIN = '/usr/local/bin/fastify-anonymous-telemetry-collector'
const UNITS = readdirSync(DEPLOY).sort()

/** Each `Key=value` of a unit, in order (a key may repeat), by section. */
function settings (unit: string): Record<string, Array<[string, string]>> {
  const sections: Record<string, Array<[string, string]>> = {}
  let section = ''
  for (const line of readFileSync(join(DEPLOY, unit), 'utf8').split('\n')) {
    const header = /^\[(\w+)\]$/.exec(line)
    if (header !== null) sections[section = header[1]] = []
    else if (/^\w+=/.test(line)) sections[section].push([line.slice(0, line.indexOf('=')), line.slice(line.indexOf('=') + 1)])
  }
  return sections
}
const values = (unit: string, section: string, key: string): string[] => settings(unit)[section].filter(([k]) => k === key).map(([, v]) => v)

test('deploy/ holds the receiver, the nightly job and its timer, and the npm package ships them', async t => {
  t.same(UNITS, ['fastify-telemetry-collector.service', 'fastify-telemetry-nightly.service', 'fastify-telemetry-nightly.timer'])
  const { files } = JSON.parse(readFileSync(join(__dirname, '..', 'package.json'), 'utf8'))
  t.ok(files.includes('deploy/*.service') && files.includes('deploy/*.timer'))
})

test('systemd-analyze verify finds nothing to say about the units, run as installed (the bin pointed at node and dist/cli.js)', async t => {
  const found = spawnSync('systemd-analyze', ['--version'])
  if (found.error !== undefined) {
    // CI must check the units: .ci/run installs it there.
    if (process.env.CI === 'true') t.fail('systemd-analyze is missing in CI: .ci/run installs it (apt-get install -y systemd)')
    else t.plan(0, 'systemd-analyze is not installed here (Debian: apt-get install -y systemd; .ci/run installs it)')
    return
  }
  t.ok(existsSync(CLI), 'dist/cli.js is built (npm run build)')
  const dir = t.testdir()
  for (const unit of UNITS) writeFileSync(join(dir, unit), readFileSync(join(DEPLOY, unit), 'utf8').replaceAll(BIN, `${process.execPath} ${CLI}`))
  const verify = spawnSync('systemd-analyze', ['verify', ...UNITS.map(unit => join(dir, unit))], { encoding: 'utf8' })
  // An unknown key or a bad value is only a warning, with exit code 0: any output fails.
  t.same({ status: verify.status, output: verify.stdout + verify.stderr }, { status: 0, output: '' })
})

test('the receiver: a dynamic user, its state directory, read-only elsewhere, restarted on failure, stopped by SIGTERM', async t => {
  const unit = 'fastify-telemetry-collector.service'
  const service = Object.fromEntries(settings(unit).Service)
  t.match(service, {
    DynamicUser: 'yes',
    StateDirectory: 'fastify-telemetry',
    ProtectSystem: 'strict',
    NoNewPrivileges: 'yes',
    Restart: 'on-failure',
    KillSignal: 'SIGTERM',
    CapabilityBoundingSet: ''
  })
  t.same(values(unit, 'Service', 'ExecStart'), [`${BIN} serve --data %S/fastify-telemetry/data --host 127.0.0.1 --port 8080`])
})

test('the receiver\'s command line starts the collector, which stops with exit code 0 on SIGTERM', async t => {
  const state = t.testdir()
  const [command] = values('fastify-telemetry-collector.service', 'Service', 'ExecStart')
  const [, subcommand, ...flags] = command.replaceAll('%S', state).replace('--port 8080', '--port 0').split(' ')
  t.equal(subcommand, 'serve')
  const serve = await spawnServe(CLI, flags, { ...process.env, TELEMETRY_WRITE_KEYS: KEY })
  t.equal(await serve.stop(), 0)
  t.match(serve.output(), 'listening on http://127.0.0.1:')
  t.match(serve.output(), `writing to ${join(state, 'fastify-telemetry', 'data', 'segment-logs')}\n`)
})

test('the nightly job: ingest, report, then prune of what is older than the retention, on the receiver\'s data', async t => {
  const unit = 'fastify-telemetry-nightly.service'
  t.match(Object.fromEntries(settings(unit).Service), { Type: 'oneshot', DynamicUser: 'yes', User: 'fastify-telemetry', StateDirectory: 'fastify-telemetry', PrivateNetwork: 'yes', ProtectSystem: 'strict', NoNewPrivileges: 'yes' })
  t.same(values('fastify-telemetry-collector.service', 'Service', 'User'), ['fastify-telemetry'], 'the receiver\'s user, shared by name')
  t.same(values(unit, 'Service', 'ExecStart'), [
    `${BIN} ingest %S/fastify-telemetry/data --db %S/fastify-telemetry/fleet.duckdb`,
    `${BIN} report --db %S/fastify-telemetry/fleet.duckdb --out %S/fastify-telemetry/site`,
    `${BIN} prune --data %S/fastify-telemetry/data --older-than \${RETENTION_DAYS} --db %S/fastify-telemetry/fleet.duckdb`
  ])
  t.same(values(unit, 'Service', 'Environment'), ['RETENTION_DAYS=90', 'HOME=%S/fastify-telemetry'])
  t.match(Object.fromEntries(settings('fastify-telemetry-nightly.timer').Timer), { OnCalendar: '*-*-* 03:00:00 UTC', Persistent: 'true' })
})
