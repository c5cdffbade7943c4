// Why a delivery failed, in words an operator can act on. Errors are told apart by their fields (`status`, `code`,
// undici's proxy message), never by their classes: the classes live on the sending side, which this file must not
// load.

/** How many failure kinds a process remembers: enough for every distinct trouble, bounded whatever the network does. */
export const MAX_FAILURE_KINDS = 16

/** A failure, sorted: `kind` names it for "first of its kind"; `hint` says what it likely means. */
export interface Failure {
  kind: string
  /** What happened, as the error said it: a status, a code. */
  what: string
  hint: string
  status?: number
  code?: string
}

/** Timeouts of every layer are one trouble for an operator: no answer in time. */
const TIMEOUT_CODES = new Set(['TELEMETRY_DEADLINE', 'ETIMEDOUT', 'UND_ERR_CONNECT_TIMEOUT', 'UND_ERR_HEADERS_TIMEOUT', 'UND_ERR_BODY_TIMEOUT'])

/** undici's message when a proxy answers `CONNECT` with anything but 200 (undici is pinned: see lib/transport.ts). */
const PROXY_REFUSAL = /^Proxy response \((\d{3})\) !== 200/

function statusHint (status: number, target: string): string {
  if (status === 401 || status === 403) return 'the collector did not accept the write key'
  if (status === 404) return `no batch endpoint at ${target} (check the host and path options)`
  if (status === 413) return 'the collector found the batch too large (each event stays under 32 KB; its limit is lower)'
  if (status === 429) return 'the collector is limiting the rate; the next report is the retry'
  if (status >= 500) return 'the collector failed to store the batch; the next report is the retry'
  if (status >= 300 && status < 400) return 'redirects are not followed: point the host option at the final URL'
  return 'the collector refused the batch'
}

function codeHint (code: string, origin: string): string {
  if (code === 'ECONNREFUSED') return `the connection was refused: nothing listens at ${origin}, or at the proxy`
  if (code === 'ENOTFOUND' || code === 'EAI_AGAIN') return `the host name of ${origin} did not resolve`
  if (code === 'ECONNRESET' || code === 'UND_ERR_SOCKET') return 'the connection was closed before an answer came'
  return 'the event could not be delivered; the next report is the retry'
}

/** Sorts a delivery error; `origin` and `path` say where batches go (an origin never holds credentials). */
export function describeFailure (error: unknown, origin: string, path: string): Failure {
  const { status, code, message } = (error ?? {}) as { status?: unknown, code?: unknown, message?: unknown }
  if (typeof status === 'number') {
    return { kind: `status ${status}`, what: `collector answered ${status}`, hint: statusHint(status, `${origin}${path}`), status }
  }
  const proxyStatus = typeof message === 'string' ? PROXY_REFUSAL.exec(message)?.[1] : undefined
  if (proxyStatus !== undefined) {
    const hint = proxyStatus === '407'
      ? 'the proxy asked for authentication (give its credentials in the proxy URL of HTTPS_PROXY or HTTP_PROXY)'
      : `the proxy refused the tunnel to ${origin}`
    return { kind: `proxy ${proxyStatus}`, what: `proxy answered ${proxyStatus}`, hint, status: Number(proxyStatus) }
  }
  if (typeof code === 'string') {
    if (TIMEOUT_CODES.has(code)) return { kind: 'timeout', what: code, hint: `no complete answer from ${origin} in time`, code }
    return { kind: code, what: code, hint: codeHint(code, origin), code }
  }
  return { kind: 'other', what: error instanceof Error ? error.name : typeof error, hint: codeHint('', origin) }
}

/** Failure kinds seen so far, at most `MAX_FAILURE_KINDS`: beyond them, a new kind counts as seen, so the state stays bounded. */
export class FailureKinds {
  private readonly seen = new Set<string>()

  /** Whether `kind` is new (and there was room to remember it). */
  first (kind: string): boolean {
    if (this.seen.has(kind) || this.seen.size >= MAX_FAILURE_KINDS) return false
    this.seen.add(kind)
    return true
  }
}
