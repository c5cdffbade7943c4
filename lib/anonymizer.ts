// The privacy core. It only ever sees route templates that the application itself registered
// (`/clients/:id`), never a raw URL, query, header, body or address, and it can only answer with an entry
// of the allow-list. Both facts together mean nothing a client sends can reach a report.

export const ROOT = '/'

/**
 * Cuts a route template before its first segment that holds a parameter or wildcard, so that nothing a client
 * chooses survives: `/clients/:id` -> `/clients`, `/files/*` -> `/files`, `/:tenant/users` -> `/`.
 */
export function cutTemplate (template: string): string {
  const segments = template.split('/')
  let kept = 0
  while (kept < segments.length && !/[:*]/.test(segments[kept])) kept++
  const cut = segments.slice(0, kept).join('/').replace(/\/+$/, '')
  return cut === '' ? ROOT : cut
}

/**
 * Maps a cut template to its longest allow-listed prefix at a segment boundary (`/clients/x` -> `/clients`,
 * but `/clientsX` is not `/clients`), else to `/`.
 */
export function createEndpointMatcher (endpoints: readonly string[]): (cut: string) => string {
  const allowed = new Set(endpoints)
  return function matchEndpoint (cut) {
    let candidate = cut
    while (candidate !== ROOT) {
      if (allowed.has(candidate)) return candidate
      const slash = candidate.lastIndexOf('/')
      candidate = slash <= 0 ? ROOT : candidate.slice(0, slash)
    }
    return ROOT
  }
}

/** Methods reported by name; anything else counts as `OTHER`, so clients cannot grow the set. */
export const METHODS = ['GET', 'HEAD', 'POST', 'PUT', 'DELETE', 'PATCH', 'OPTIONS', 'OTHER'] as const
export type ReportedMethod = typeof METHODS[number]
export const OTHER_METHOD = METHODS.length - 1

/** Index of a request method in `METHODS`. A switch: no lookup keyed by client data, no allocation. */
export function methodIndex (method: string): number {
  switch (method) {
    case 'GET': return 0
    case 'HEAD': return 1
    case 'POST': return 2
    case 'PUT': return 3
    case 'DELETE': return 4
    case 'PATCH': return 5
    case 'OPTIONS': return 6
    default: return OTHER_METHOD
  }
}
