import { once } from 'node:events'
import { appendFileSync } from 'node:fs'
import { join } from 'node:path'
import { gzipSync } from 'node:zlib'
import { test } from 'tap'
import { listFiles } from '../lib/reader'
import { AUTH, KEY, stored } from './helpers/collector'
import { batch, keepAlive } from './helpers/events'
import { spawnServe } from './helpers/serve-process'

const ROUNDS = 20
const CLIENTS = 8
const CLI = join(__dirname, '..', 'dist', 'cli.js')

interface Sent { ids: string[], answered: boolean }

/**
 * One round: clients send batches of 1 to 5 events back to back until the child is SIGKILLed after a random
 * number of answers (0: while the first batches are in flight). Every batch is recorded with whether it got a 200.
 */
async function round (dataDir: string, killAfter: number, sent: Sent[]): Promise<void> {
  const { child, url } = await spawnServe(CLI, ['--data', dataDir, '--port', '0', '--write-key', KEY])
  const exited = once(child, 'exit')
  let answers = 0
  let dead = false
  const client = async (): Promise<void> => {
    while (!dead) {
      const events = Array.from({ length: 1 + Math.floor(Math.random() * 5) }, () => keepAlive())
      const record: Sent = { ids: events.map(e => e.messageId as string), answered: false }
      sent.push(record)
      if (killAfter === 0 && !dead) { dead = true; child.kill('SIGKILL') }
      try {
        const res = await fetch(`${url}/v1/batch`, { method: 'POST', body: batch(events), headers: { authorization: AUTH, 'content-type': 'application/json' } })
        await res.arrayBuffer()
        if (res.status !== 200) throw new Error(`status ${res.status}`)
        record.answered = true
        if (++answers >= killAfter && !dead) { dead = true; child.kill('SIGKILL') }
      } catch (error) {
        if (!dead) throw error
      }
    }
  }
  await Promise.all(Array.from({ length: CLIENTS }, client))
  await exited
}

test(`SIGKILL under load, ${ROUNDS} times: every 200 stored exactly once, every unanswered batch all or nothing`, async t => {
  const dataDir = t.testdir()
  const sent: Sent[] = []
  for (let i = 0; i < ROUNDS; i++) {
    await round(dataDir, Math.floor(Math.random() * 40), sent)
    if (i === ROUNDS / 2) {
      // A power cut mid-write, which a kill alone rarely produces: the newest file ends in half a member.
      const files = await listFiles(dataDir)
      const half = gzipSync(JSON.stringify(keepAlive({ messageId: 'torn' })) + '\n')
      appendFileSync((files.at(-1) as { file: string }).file, half.subarray(0, half.length >> 1))
    }
  }
  // The data dir still serves after the last kill.
  const serve = await spawnServe(CLI, ['--data', dataDir, '--port', '0', '--write-key', KEY])
  t.equal(await serve.stop(), 0, 'a clean start and stop after the kills')

  const { events, torn } = await stored(dataDir)
  t.ok(torn.length >= 1, `torn members are reported, not fatal (${torn.length})`)
  t.ok(torn.every(x => x.reason === 'truncated' || x.reason === 'CRC mismatch' || x.reason.startsWith('bad')), 'each with its reason')
  const count = new Map<string, number>()
  for (const event of events) count.set(event.messageId, (count.get(event.messageId) ?? 0) + 1)
  t.notOk(count.has('torn'), 'nothing of a torn member is returned')
  const answered = sent.filter(s => s.answered)
  const unanswered = sent.filter(s => !s.answered)
  t.ok(answered.length > 0 && unanswered.length > 0, `${answered.length} batches answered, ${unanswered.length} not`)
  t.ok(answered.every(s => s.ids.every(id => count.get(id) === 1)), 'every event of every 200 is stored exactly once')
  const present = unanswered.filter(s => s.ids.some(id => count.has(id)))
  t.ok(unanswered.every(s => s.ids.every(id => (count.get(id) ?? 0) === (count.has(s.ids[0]) ? 1 : 0))), `unanswered batches are all or nothing (${present.length} of ${unanswered.length} present)`)
  const known = new Set(sent.flatMap(s => s.ids))
  t.ok(events.every(e => known.has(e.messageId)), 'nothing stored that was not sent')
})
