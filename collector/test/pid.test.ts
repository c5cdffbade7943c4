import { spawn } from 'node:child_process'
import { once } from 'node:events'
import { existsSync, readFileSync, writeFileSync } from 'node:fs'
import { join } from 'node:path'
import { test } from 'tap'
import { receiverRuns } from '../lib/storage/pid'
import { collectorApp } from './helpers/collector'

// A receiver names itself in its data directory while it runs, so that forget and prune leave alone the files it may
// still append to.

test('a receiver writes its pid file when it starts and removes it when it closes', async t => {
  const { app, dataDir } = await collectorApp(t)
  const pidFile = join(dataDir, 'segment-logs', '.receiver.pid')
  t.equal(readFileSync(pidFile, 'utf8'), `${process.pid}\n`)
  t.equal(await receiverRuns(dataDir), true)
  t.equal(await receiverRuns(join(dataDir, 'segment-logs')), true, 'found from the segment-logs directory too')
  await app.close()
  t.notOk(existsSync(pidFile))
  t.equal(await receiverRuns(dataDir), false)
})

test('closing leaves the pid file of another receiver started on the same directory since', async t => {
  const { app, dataDir } = await collectorApp(t)
  const pidFile = join(dataDir, 'segment-logs', '.receiver.pid')
  writeFileSync(pidFile, '1\n')
  await app.close()
  t.equal(readFileSync(pidFile, 'utf8'), '1\n')
})

test('a pid file naming a process that is gone (a receiver killed) or nothing at all says that none runs', async t => {
  const dataDir = t.testdir({ 'segment-logs': {} })
  const child = spawn(process.execPath, ['-e', ''])
  await once(child, 'exit')
  writeFileSync(join(dataDir, 'segment-logs', '.receiver.pid'), `${child.pid as number}\n`)
  t.equal(await receiverRuns(dataDir), false)
  writeFileSync(join(dataDir, 'segment-logs', '.receiver.pid'), 'garbage')
  t.equal(await receiverRuns(dataDir), false)
})
