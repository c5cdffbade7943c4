// What a client of the bookshop does, for the demo and the docs capture: known and unknown ids (404), a
// failed validation (400), paths no route serves, a method no route accepts, and the two routes that are never counted.
import { HEALTH_TOKEN_HEADER, KNOWN_AUTHORS, KNOWN_ISBNS } from './server.mjs'

/** `[method, url, body?, headers?]` */
export function bookshopTraffic (healthToken) {
  return [
    ['GET', '/'],
    ['GET', '/books'],
    ['GET', `/books/${KNOWN_ISBNS[0]}`],
    ['GET', `/books/${KNOWN_ISBNS[2]}?format=short`],
    ['GET', '/books/9999999999999'],
    ['GET', `/authors/${KNOWN_AUTHORS[1]}/books`],
    ['POST', '/orders', { isbn: KNOWN_ISBNS[3], quantity: 2 }],
    ['POST', '/orders', { isbn: KNOWN_ISBNS[1] }],
    ['GET', '/orders/1'],
    ['GET', '/orders/424242'],
    ['GET', '/wp-login.php'],
    ['DELETE', '/books'],
    ['GET', '/health', undefined, { [HEALTH_TOKEN_HEADER]: healthToken }],
    ['GET', '/internal/cache']
  ]
}

/** Sends one request over HTTP and reads the whole answer; returns the status code. */
export async function send (base, [method, url, body, headers = {}]) {
  const init = { method, headers: { ...headers } }
  if (body !== undefined) {
    init.body = JSON.stringify(body)
    init.headers['content-type'] = 'application/json'
  }
  const response = await fetch(base + url, init)
  await response.arrayBuffer()
  return response.status
}
