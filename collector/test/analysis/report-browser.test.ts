import { mkdtempSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { pathToFileURL } from 'node:url'
import { chromium } from 'playwright-core'
import { test, type Test } from 'tap'
import { reportOf } from './helpers/report'
import { upgrade } from './helpers/upgrade-fleet'

// Debian's chromium (.ci/run installs it when missing); no browser download.
const ARGS = ['--headless', '--no-sandbox', '--disable-gpu', '--disable-quic', '--no-first-run', '--disable-background-networking', '--disable-component-update', '--disable-sync']

async function open (t: Test, javaScriptEnabled: boolean) {
  const context = await chromium.launchPersistentContext(mkdtempSync(join(tmpdir(), 'fleet-chromium-')), { executablePath: '/usr/bin/chromium', args: ARGS, headless: true, javaScriptEnabled })
  t.teardown(() => context.close())
  return context
}

// A phone and a laptop.
for (const width of [390, 1280]) {
  test(`in Chromium at ${width} px: no sideways scroll, the headline above the first chart, every chart with data, no console error, no request; screenshot saved`, async t => {
    const { dir } = await reportOf(t, upgrade(), { title: 'Bookshop API' })
    const url = pathToFileURL(join(dir, 'out', 'index.html')).href
    const context = await open(t, true)
    const page = await context.newPage()
    await page.setViewportSize({ width, height: 900 })
    const requests: string[] = []
    const errors: string[] = []
    page.on('request', r => { requests.push(r.url()) })
    page.on('console', m => { if (m.type() === 'error') errors.push(m.text()) })
    page.on('pageerror', e => { errors.push(e.message) })
    await page.goto(url, { waitUntil: 'load' })
    t.same(errors, [])
    t.same(requests, [url])
    const scrollWidth = await page.$eval('html', root => root.scrollWidth)
    t.ok(scrollWidth <= width, `page ${scrollWidth} px wide in a ${width} px viewport`)
    // Only the drawing of this width shows: each chart's other one is display: none. Data is what ECharts draws for
    // a series: bars and points (marked as chart elements), lines (2 px, beveled) and areas (filled at 0.9).
    const charts = await page.$$eval('figure.chart svg', svgs => svgs.filter(s => s.getBoundingClientRect().width > 0).map(s => ({
      top: s.getBoundingClientRect().top,
      width: s.getBoundingClientRect().width,
      marks: s.querySelectorAll('[ecmeta_ssr_type="chart"], path[stroke-width="2"][stroke-linejoin="bevel"], path[fill-opacity="0.9"]').length
    })))
    const figures = await page.locator('figure.chart').count()
    t.equal(charts.length, figures, 'one drawing shown per chart')
    t.ok(charts.length >= 9, `${charts.length} charts`)
    t.equal(charts.every(c => c.marks > 0 && c.width <= width), true, 'every chart has data marks and fits the width')
    // The features section (upgrade(): a fact, two counters): its charts drawn with data at this width, its tables filled.
    const features = await page.$$eval('#features figure.chart svg', svgs => svgs.filter(s => s.getBoundingClientRect().width > 0)
      .map(s => s.querySelectorAll('[ecmeta_ssr_type="chart"]').length))
    t.equal(features.length, 4, 'fact values, counters, and uses per day of each counter')
    t.ok(features.every(marks => marks > 0), 'every features chart has data marks')
    t.match(await page.locator('#features').innerText(), /postgres\s+10\s+62\.5 %\s+10\s+62\.5 %/)
    const headline = await page.locator('#headline').boundingBox()
    t.ok(headline !== null && headline.y + headline.height <= charts[0].top, 'the headline is above the first chart')
    t.match(await page.locator('#headline').innerText(), /^Bookshop API 1\.1\.0 against 1\.0\.0: 1 endpoint slower \(GET \/items\)/)
    const shot = join(mkdtempSync(join(tmpdir(), 'fleet-screenshot-')), `stats-page-${width}.png`)
    await page.screenshot({ path: shot, fullPage: true })
    t.comment(`screenshot: ${shot}`)
  })
}

test('a link in the headline leads to its row', async t => {
  const { dir } = await reportOf(t, upgrade())
  const context = await open(t, false)
  const page = await context.newPage()
  await page.goto(pathToFileURL(join(dir, 'out', 'index.html')).href)
  await page.locator('#headline a', { hasText: 'GET /fast' }).first().click()
  t.match(page.url(), /#row-2$/)
  t.match(await page.locator('tr:target').innerText(), /^GET \/fast/)
})

test('with JavaScript disabled, the text and the tables read the same', async t => {
  const { dir } = await reportOf(t, upgrade())
  const context = await open(t, false)
  const page = await context.newPage()
  await page.goto(pathToFileURL(join(dir, 'out', 'index.html')).href)
  const text = await page.innerText('body')
  t.match(text, 'Fleet statistics')
  t.match(text, '1.1.0 against 1.0.0: 1 endpoint slower (GET /items)')
  t.match(text, /Installations: 16; instances: 32/)
  t.match(text, 'Release comparison')
  t.equal(await page.locator('figure.chart svg').count() >= 18, true)
})
