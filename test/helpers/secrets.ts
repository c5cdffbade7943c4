import fc from 'fast-check'

/** Starts every secret, so that any hit in what the collector received can only be a leak. */
export const SECRET_MARKER = 'S3CR3T_'

/**
 * Property-based tests use this fast-check seed unless `FC_SEED` is set; they print the seed they used, so that
 * any failure replays with `FC_SEED=<seed>`.
 */
export function fastCheckSeed (): number {
  return process.env.FC_SEED === undefined ? 20250601 : Number(process.env.FC_SEED)
}

const LETTERS = [...'abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ']
const DIGITS = [...'0123456789']

/** One unit of a secret after its marker: a letter, a digit, a non-ASCII grapheme, or a `%` escape, valid or not. */
const secretUnit = fc.oneof(
  fc.constantFrom(...LETTERS),
  fc.constantFrom(...DIGITS),
  fc.string({ unit: 'grapheme', minLength: 1, maxLength: 1 }).filter(grapheme => /[\u0080-\u{10ffff}]/u.test(grapheme)),
  fc.constantFrom('é', 'ß', 'Ω', '漢', '字', '😀', '🔑', '\u00a0', '\u202e'),
  fc.integer({ min: 0, max: 255 }).map(byte => `%${byte.toString(16).padStart(2, '0').toUpperCase()}`),
  fc.constantFrom('%', '%zz', '%G0', '%E2%82', '%C3%28', '%25')
)

/**
 * `S3CR3T_` and 16 to 40 generated units. Unbiased, so that secrets are not the short, repetitive strings
 * fast-check favours by default: a 16-unit random tail cannot occur in a report by chance.
 */
export const secret: fc.Arbitrary<string> = fc.noBias(
  fc.array(secretUnit, { minLength: 16, maxLength: 40 }).map(units => SECRET_MARKER + units.join(''))
)

function decodedOr (escapes: string, fallback: (escapes: string) => string): string {
  try {
    return decodeURIComponent(escapes)
  } catch {
    return fallback(escapes)
  }
}

/**
 * Decodes every `%` escape run that is valid UTF-8, and in the others every escape that is valid on its own,
 * leaving the rest as it is: as a lenient server or a careless log would.
 */
export function percentDecoded (text: string): string {
  return text.replace(/(?:%[0-9a-fA-F]{2})+/g, run =>
    decodedOr(run, invalid => invalid.replace(/%[0-9a-fA-F]{2}/g, escape => decodedOr(escape, kept => kept))))
}

/** Undoes JSON string escapes (`\u00e9`, `\"`, `\\`, `\/`), so that an escaped secret reads in clear. */
export function jsonUnescaped (text: string): string {
  return text
    .replace(/\\u([0-9a-fA-F]{4})/g, (_, hex: string) => String.fromCharCode(parseInt(hex, 16)))
    .replace(/\\(["\\/])/g, '$1')
}

/** A path segment that decodes, on the server, to `value` exactly. */
export function encodedSegment (value: string): string {
  return encodeURIComponent(value)
}

/** A path segment as a user might type it: non-ASCII and reserved characters escaped, but `%` left alone. */
export function typedSegment (value: string): string {
  return value.replace(/[^A-Za-z0-9%_.~-]/gu, char => encodeURIComponent(char))
}

/** A header value carrying `value`: Latin-1 stays as it is, anything else (and control characters) is escaped. */
export function headerValue (value: string): string {
  return value.replace(/[^\x20-\x7e\xa0-\xff]/gu, char => encodeURIComponent(char))
}

/** A header name (an HTTP token) carrying `value`. */
export function headerName (value: string): string {
  return encodeURIComponent(value).replace(/[()]/g, char => `%${char.charCodeAt(0).toString(16).toUpperCase()}`)
}

/** Leaks are searched by windows of this many characters: every secret's tail is at least this long. */
const WINDOW = 16

/**
 * Windows that betray `value`: the first and last `WINDOW` characters of its tail (after the marker) in every form
 * it could take on the way: as given, as sent (encoded, typed, header-safe) and percent-decoded. Lower-cased,
 * like the haystacks (header names reach the server lower-cased).
 */
function windowsOf (value: string): string[] {
  const forms = [value, encodedSegment(value), typedSegment(value), percentDecoded(value), headerValue(value), headerName(value)]
  const windows: string[] = []
  for (const form of forms) {
    const tail = form.toLowerCase().slice(form.indexOf(SECRET_MARKER) === 0 ? SECRET_MARKER.length : 0)
    if (tail.length >= WINDOW) windows.push(tail.slice(0, WINDOW), tail.slice(-WINDOW))
  }
  return windows
}

/**
 * Secrets found in `bytes`: searched in the raw text and in its JSON-unescaped and percent-decoded readings,
 * case-insensitively, by any `WINDOW`-long piece of a secret's tail, and for the marker itself. One pass over
 * each reading, whatever the number of secrets. An empty array means no leak.
 */
export function findLeaks (secrets: Iterable<string>, bytes: string): string[] {
  const owners = new Map<string, string>()
  for (const value of secrets) {
    for (const window of windowsOf(value)) owners.set(window, value)
  }
  const readings = [bytes, jsonUnescaped(bytes), percentDecoded(bytes), percentDecoded(jsonUnescaped(bytes))]
  const marker = SECRET_MARKER.toLowerCase()
  const leaks = new Set<string>()
  for (const reading of readings.map(text => text.toLowerCase())) {
    if (reading.includes(marker)) leaks.add(SECRET_MARKER)
    for (let i = 0; i + WINDOW <= reading.length; i++) {
      const owner = owners.get(reading.slice(i, i + WINDOW))
      if (owner !== undefined) leaks.add(owner)
    }
  }
  return [...leaks]
}
