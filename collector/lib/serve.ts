import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http'
import { parseArgs } from 'node:util'
import Fastify, { type FastifyInstance } from 'fastify'
import { FST_TELEMETRY_COLLECTOR_INVALID_OPTION } from './errors'
import { DEFAULTS, type WriteKey } from './options'
import { plugin, requestWithoutAddress } from './plugin'
import { logsDir } from './storage/layout'

export const SERVE_USAGE = `Usage: fastify-anonymous-telemetry-collector serve --data <dir> --write-key <key>[=<sourceId>] [options]

  --data <dir>              where segment-logs/<sourceId>/<receivedDay>/*.gz is written (required)
  --write-key <key>[=<id>]  a write key senders use, and optionally its source id; repeatable
                            (also TELEMETRY_WRITE_KEYS: keys separated by commas or spaces)
  --port <n>                port to listen on (default 8080; 0 picks a free one)
  --host <address>          address to listen on (default 127.0.0.1; 0.0.0.0 for every interface)
  --request-timeout <ms>    a request (headers and body) not received within this gets 408 (default 10000)
  --max-file-bytes <n>      rotate a file once it would pass this size (default ${DEFAULTS.maxFileBytes})
  --dedup-entries <n>       recent messageIds remembered to drop resent events (default ${DEFAULTS.dedupEntries})
  --gzip-level <0-9>        gzip level of stored members (default ${DEFAULTS.gzipLevel})
  --log-level <level>       pino level of the request log, which never holds an address (default warn)
`

export interface ServeConfig {
  dataDir: string
  writeKeys: WriteKey[]
  port: number
  host: string
  requestTimeout: number
  maxFileBytes: number
  dedupEntries: number
  gzipLevel: number
  logLevel: string
}

const LOG_LEVELS = ['fatal', 'error', 'warn', 'info', 'debug', 'trace', 'silent']

function invalid (flag: string, expected: string, value: string): Error {
  return new FST_TELEMETRY_COLLECTOR_INVALID_OPTION(flag, expected, JSON.stringify(value))
}

function integerFlag (values: Record<string, unknown>, flag: string, fallback: number, min: number, max: number): number {
  const text = values[flag] as string | undefined
  if (text === undefined) return fallback
  const value = Number(text)
  if (!/^\d+$/.test(text) || value < min || value > max) throw invalid(`--${flag}`, `an integer from ${min} to ${max}`, text)
  return value
}

function writeKeyFrom (text: string, where: string): WriteKey {
  const at = text.lastIndexOf('=')
  const writeKey = at === -1 ? text : text.slice(0, at)
  if (writeKey.length === 0) throw invalid(where, '<key> or <key>=<sourceId>', text)
  return at === -1 ? { writeKey } : { writeKey, sourceId: text.slice(at + 1) }
}

/** `serve`'s flags (and TELEMETRY_WRITE_KEYS) as a configuration; the error names the wrong flag. */
export function serveConfig (argv: string[], env: NodeJS.ProcessEnv = process.env): ServeConfig {
  let values: Record<string, unknown>
  try {
    ({ values } = parseArgs({
      args: argv,
      strict: true,
      allowPositionals: false,
      options: {
        data: { type: 'string' },
        'write-key': { type: 'string', multiple: true },
        port: { type: 'string' },
        host: { type: 'string' },
        'request-timeout': { type: 'string' },
        'max-file-bytes': { type: 'string' },
        'dedup-entries': { type: 'string' },
        'gzip-level': { type: 'string' },
        'log-level': { type: 'string' }
      }
    }))
  } catch (error) {
    // parseArgs names the flag: "Unknown option '--prot'", "Option '--port <value>' argument missing".
    throw new FST_TELEMETRY_COLLECTOR_INVALID_OPTION('serve', 'known flags with their values', (error as Error).message)
  }
  const dataDir = values.data as string | undefined
  if (dataDir === undefined || dataDir === '') throw invalid('--data', 'a directory', String(dataDir ?? ''))
  const fromEnv = (env.TELEMETRY_WRITE_KEYS ?? '').split(/[\s,]+/).filter(key => key !== '').map(key => writeKeyFrom(key, 'TELEMETRY_WRITE_KEYS'))
  const fromFlags = ((values['write-key'] ?? []) as string[]).map(key => writeKeyFrom(key, '--write-key'))
  const writeKeys = [...fromFlags, ...fromEnv]
  if (writeKeys.length === 0) throw invalid('--write-key', 'given at least once (or TELEMETRY_WRITE_KEYS set)', '')
  const logLevel = (values['log-level'] ?? 'warn') as string
  if (!LOG_LEVELS.includes(logLevel)) throw invalid('--log-level', `one of ${LOG_LEVELS.join(', ')}`, logLevel)
  const host = (values.host ?? '127.0.0.1') as string
  if (host === '') throw invalid('--host', 'an address', host)
  return {
    dataDir,
    writeKeys,
    port: integerFlag(values, 'port', 8080, 0, 65535),
    host,
    requestTimeout: integerFlag(values, 'request-timeout', 10_000, 1, 3_600_000),
    maxFileBytes: integerFlag(values, 'max-file-bytes', DEFAULTS.maxFileBytes, 1024, 2 ** 40),
    dedupEntries: integerFlag(values, 'dedup-entries', DEFAULTS.dedupEntries, 0, 10_000_000),
    gzipLevel: integerFlag(values, 'gzip-level', DEFAULTS.gzipLevel, 0, 9),
    logLevel
  }
}

export interface Running {
  app: FastifyInstance
  url: string
  /** The `segment-logs` directory events are written to. */
  writesTo: string
  close: () => Promise<void>
}

/**
 * The collector as its own server. Fastify 5 has no request timeout by default, so a body that trickles would
 * hold a connection forever: Node's `requestTimeout` (headers and body) answers 408, checked every second.
 */
export async function startServer (config: ServeConfig, log: NodeJS.WritableStream = process.stdout): Promise<Running> {
  const checkEvery = Math.min(1000, config.requestTimeout)
  const app = Fastify<Server>({
    logger: { level: config.logLevel, serializers: { req: requestWithoutAddress }, stream: log },
    requestTimeout: config.requestTimeout,
    serverFactory: (handler: (req: IncomingMessage, res: ServerResponse) => void): Server => createServer({
      requestTimeout: config.requestTimeout,
      headersTimeout: config.requestTimeout,
      connectionsCheckingInterval: checkEvery
    }, handler)
  })
  await app.register(plugin, {
    dataDir: config.dataDir,
    writeKeys: config.writeKeys,
    maxFileBytes: config.maxFileBytes,
    dedupEntries: config.dedupEntries,
    gzipLevel: config.gzipLevel
  })
  const url = await app.listen({ port: config.port, host: config.host })
  const writesTo = logsDir(app.telemetryCollector.dataDir)
  return { app, url, writesTo, close: async () => await app.close() }
}
