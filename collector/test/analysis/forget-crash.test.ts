import { spawn } from 'node:child_process'
import { once } from 'node:events'
import { existsSync, readFileSync } from 'node:fs'
import { basename, dirname, join } from 'node:path'
import { test } from 'tap'
import { forget, type ForgetProgress } from '../../lib/analysis/forget'
import { ingest } from '../../lib/analysis/ingest/ingest'
import { listFiles } from '../../lib/reader'
import { fleet, snapshot, type Fleet } from './helpers/forget'

// A forget killed at any point leaves every stored file whole (the old version or the new one) and the database
// able to read either; run again, it ends exactly as a run never interrupted. The child process kills itself at a
// chosen step of its progress, so the point is the same on every machine.

/** Runs forget on the built package in a child process that SIGKILLs itself at the `nth` progress of `step`. */
async function killedAt ({ data, db, id }: Fleet, step: ForgetProgress['step'], nth: number): Promise<string | null> {
  const script = `
    const [forgetJs, id, db, data, step, nth] = process.argv.slice(1)
    let seen = 0
    require(forgetJs).forget(id, db, [data], { onProgress: p => { if (p.step === step && ++seen === Number(nth)) process.kill(process.pid, 'SIGKILL') } })`
  const child = spawn(process.execPath, ['-e', script, join(__dirname, '../../dist/analysis/forget.js'), id, db, data, step, String(nth)], { stdio: 'inherit' })
  const [, signal] = await once(child, 'exit') as [number | null, string | null]
  return signal
}

for (const [step, nth, leftover] of [['written', 2, true], ['renamed', 1, false]] as const) {
  test(`killed once file ${nth} is ${step}: each file whole, old or new; run again, as if never interrupted`, async t => {
    const dir = t.testdir()
    const killed = await fleet(join(dir, 'killed'))
    // The reference: the same fleet (simulate is seeded), forgotten in one go.
    const ref = await fleet(join(dir, 'ref'))
    const files = (await listFiles(killed.data)).map(f => f.file)
    const refFiles = (await listFiles(ref.data)).map(f => f.file)
    const old = files.map(file => readFileSync(file))
    await forget(ref.id, ref.db, [ref.data])
    const renewed = refFiles.map(file => readFileSync(file))
    const temporary = join(dirname(files[1]), `.${basename(files[1])}.forget`)

    t.equal(await killedAt(killed, step, nth), 'SIGKILL')
    const state = files.map((file, i) => readFileSync(file)).map((bytes, i) => bytes.equals(renewed[i]) ? 'new' : bytes.equals(old[i]) ? 'old' : 'torn')
    t.same(state, ['new', 'old'], 'the files before the point are new, those after it old, none torn')
    t.equal(existsSync(temporary), leftover, leftover ? 'the unrenamed new version is left, under a name no reader lists' : 'no new version left over')
    t.equal((await listFiles(killed.data)).length, 2)

    const again = await forget(killed.id, killed.db, [killed.data])
    t.same(again.rewritten, [files[1]])
    t.same(files.map((file, i) => readFileSync(file).equals(renewed[i])), [true, true])
    t.notOk(existsSync(temporary), 'a leftover is removed')
    await ingest([killed.data], killed.db)
    await ingest([ref.data], ref.db)
    t.same(await snapshot(killed.db, killed.data), await snapshot(ref.db, ref.data), 'the database ends as the uninterrupted run\'s')
  })
}
