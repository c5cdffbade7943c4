import { once } from 'node:events'
import { connect } from 'node:net'

// No HTTP client sends a malformed request on purpose, so hostile-input tests write the bytes themselves.

/** One HTTP/1.1 request as raw bytes. `target` may be a Buffer to carry bytes that are not UTF-8. */
export function rawRequest (
  method: string,
  target: string | Buffer,
  headers: Record<string, string> = {},
  body: string | Buffer = ''
): Buffer {
  const head = Object.entries({ host: 'localhost', ...headers }).map(([name, value]) => `${name}: ${value}\r\n`).join('')
  return Buffer.concat([Buffer.from(`${method} `), Buffer.from(target), Buffer.from(` HTTP/1.1\r\n${head}\r\n`), Buffer.from(body)])
}

/**
 * Writes `bytes` on a fresh connection, half-closes it, and returns everything the server answered until it
 * closed the connection. A server that drops the connection early (a rejected request) is an answer, not an error.
 */
export async function exchange (port: number, bytes: Buffer): Promise<string> {
  const socket = connect(port, '127.0.0.1')
  const chunks: Buffer[] = []
  socket.on('data', chunk => chunks.push(chunk))
  // EPIPE/ECONNRESET while still writing after the server rejected the request: the answer is already read.
  socket.on('error', () => {})
  socket.end(bytes)
  await once(socket, 'close')
  return Buffer.concat(chunks).toString('latin1')
}

/** Status codes of every response in a raw answer, in order. */
export function statusCodes (answer: string): number[] {
  return [...answer.matchAll(/HTTP\/1\.1 (\d{3}) /g)].map(match => Number(match[1]))
}

/** Sends many requests pipelined on one connection; returns the status of each answer. */
export async function pipeline (port: number, requests: Buffer[]): Promise<number[]> {
  return statusCodes(await exchange(port, Buffer.concat(requests)))
}
