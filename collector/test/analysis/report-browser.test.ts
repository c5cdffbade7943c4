import { mkdtempSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { pathToFileURL } from 'node:url'
import { chromium } from 'playwright-core'
import { test, type Test } from 'tap'
import { bucketsWith, mergeFleets, uniformFleet } from './helpers/fleet-db'
import { reportOf } from './helpers/report'

// Debian's chromium (.ci/run installs it when missing); no browser download.
const ARGS = ['--headless', '--no-sandbox', '--disable-gpu', '--disable-quic', '--no-first-run', '--disable-background-networking', '--disable-component-update', '--disable-sync']

async function open (t: Test, javaScriptEnabled: boolean) {
  const context = await chromium.launchPersistentContext(mkdtempSync(join(tmpdir(), 'fleet-chromium-')), { executablePath: '/usr/bin/chromium', args: ARGS, headless: true, javaScriptEnabled })
  t.teardown(() => context.close())
  return context
}

const fleet = () => mergeFleets(
  uniformFleet(6, { prefix: 'o', version: '1.0.0', days: ['2026-01-01', '2026-01-02', '2026-01-03'] }),
  uniformFleet(5, { prefix: 'n', version: '1.1.0', days: ['2026-01-02', '2026-01-03'], traffic: [{ endpoint: '/items', method: 'GET', requests: 10, latency: bucketsWith([6, 10]) }] })
)

test('in Chromium: no console error, no request but the file, every chart drawn with data; screenshot saved', async t => {
  const { dir } = await reportOf(t, fleet())
  const url = pathToFileURL(join(dir, 'out', 'index.html')).href
  const context = await open(t, true)
  const page = await context.newPage()
  const requests: string[] = []
  const errors: string[] = []
  page.on('request', r => { requests.push(r.url()) })
  page.on('console', m => { if (m.type() === 'error') errors.push(m.text()) })
  page.on('pageerror', e => { errors.push(e.message) })
  await page.goto(url, { waitUntil: 'load' })
  t.same(errors, [])
  t.same(requests, [url])
  const charts = await page.$$eval('figure.chart', figures => figures.map(f => f.querySelectorAll('svg path').length))
  t.ok(charts.length >= 9, `${charts.length} charts`)
  t.equal(charts.every(paths => paths > 0), true, 'every chart has drawn paths')
  const shot = join(mkdtempSync(join(tmpdir(), 'fleet-screenshot-')), 'index.png')
  await page.screenshot({ path: shot, fullPage: true })
  t.comment(`screenshot: ${shot}`)
})

test('with JavaScript disabled, the text and the tables read the same', async t => {
  const { dir } = await reportOf(t, fleet())
  const context = await open(t, false)
  const page = await context.newPage()
  await page.goto(pathToFileURL(join(dir, 'out', 'index.html')).href)
  const text = await page.innerText('body')
  t.match(text, 'Fleet statistics')
  t.match(text, /Installations: 11; instances: 11/)
  t.match(text, '5. Release comparison')
  t.match(text, 'Latest 1.1.0 against previous 1.0.0')
  t.equal(await page.locator('figure.chart svg').count() >= 9, true)
})
