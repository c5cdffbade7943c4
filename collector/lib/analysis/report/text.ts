/** Longest label (in code points) a string from events may take on the page and in stats.json. */
export const MAX_LABEL = 64

// Control, format (bidi overrides, zero-width joiners) and unpaired surrogate characters can reorder or hide
// text around them; a label from events never needs them.
const INVISIBLE = /[\p{Cc}\p{Cf}\p{Cs}]/gu

/** A string from events made safe to show: invisible characters removed, cut to MAX_LABEL code points with "…". */
export function boundLabel (value: string): string {
  const chars = Array.from(value.replace(INVISIBLE, ''))
  return chars.length > MAX_LABEL ? chars.slice(0, MAX_LABEL - 1).join('') + '…' : chars.join('')
}

const ENTITIES: Record<string, string> = { '&': '&amp;', '<': '&lt;', '>': '&gt;', '"': '&quot;', "'": '&#39;' }

/** Text escaped for HTML content and quoted attributes. */
export function escapeHtml (value: string): string {
  return value.replace(/[&<>"']/g, c => ENTITIES[c])
}

const NUMBER = new Intl.NumberFormat('en-US', { maximumFractionDigits: 2 })

/** A number as the page writes it: thousands separated by commas, at most two decimals (6,662,624; 47.5). */
export function formatNumber (value: number): string {
  return NUMBER.format(value)
}
