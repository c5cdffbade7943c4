import { test } from 'tap'
import { boundLabel, escapeHtml, MAX_LABEL } from '../../lib/analysis/report/text'

test('labels keep at most MAX_LABEL code points, ending with … when cut, never splitting a surrogate pair', async t => {
  t.equal(boundLabel('x'.repeat(10_000)), 'x'.repeat(MAX_LABEL - 1) + '…')
  const emoji = boundLabel('😀'.repeat(100))
  t.equal(Array.from(emoji).length, MAX_LABEL)
  t.equal(emoji.endsWith('😀…'), true)
  t.equal(boundLabel('/items'), '/items')
})

test('control and bidi/format characters are removed from labels', async t => {
  t.equal(boundLabel('a\u202Eb\u0000c\u200Bd\nñ'), 'abcdñ')
})

test('HTML-special characters are escaped', async t => {
  t.equal(escapeHtml('<script>"x" & \'y\'</script>'), '&lt;script&gt;&quot;x&quot; &amp; &#39;y&#39;&lt;/script&gt;')
})
