import { once } from 'node:events'
import type { FastifyInstance } from 'fastify'
import { WebSocket } from 'ws'

export function listeningPort (app: FastifyInstance): number {
  return (app.server.address() as { port: number }).port
}

/** A websocket round trip over a real socket: open, one echo, close. */
export async function echo (port: number): Promise<string> {
  const client = new WebSocket(`ws://127.0.0.1:${port}/ws`)
  await once(client, 'open')
  client.send('hi')
  const [message] = await once(client, 'message') as [Buffer]
  client.close()
  await once(client, 'close')
  return message.toString()
}
