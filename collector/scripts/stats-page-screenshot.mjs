// Draws the picture of the stats page that the README shows: the top of a report's index.html, 1 280 px wide, in
// Debian's Chromium (no browser download). Usage: node scripts/stats-page-screenshot.mjs <site/index.html> <out.png>
import { resolve } from 'node:path'
import { pathToFileURL } from 'node:url'
import { chromium } from 'playwright-core'

const [page, out] = process.argv.slice(2)
if (page === undefined || out === undefined) {
  process.stderr.write('usage: node scripts/stats-page-screenshot.mjs <site/index.html> <out.png>\n')
  process.exit(2)
}
const browser = await chromium.launch({ executablePath: '/usr/bin/chromium', args: ['--headless', '--no-sandbox', '--disable-gpu'] })
try {
  const tab = await browser.newPage({ viewport: { width: 1280, height: 1000 } })
  await tab.goto(pathToFileURL(resolve(page)).href)
  await tab.screenshot({ path: out })
  process.stdout.write(`${out}: ${browser.version()}\n`)
} finally {
  await browser.close()
}
