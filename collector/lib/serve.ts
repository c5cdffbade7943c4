import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http'
import { randomBytes } from 'node:crypto'
import { open, unlink } from 'node:fs/promises'
import { join } from 'node:path'
import Fastify, { type FastifyInstance } from 'fastify'
import { type Args, BIN, type Command, type Flag, integer, type Io, oneOf, parse, usageError } from './command-line'
import { DEFAULTS, type WriteKey } from './options'
import { plugin, requestWithoutAddress } from './plugin'
import { ensureDir, logsDir } from './storage/layout'

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

const FLAGS: Record<string, Flag> = {
  data: { value: '<dir>', required: true, help: 'where segment-logs/<sourceId>/<receivedDay>/*.gz is written; created when missing' },
  'write-key': { value: '<key>[=<sourceId>]', multiple: true, help: 'a key senders use, and optionally its source id (also TELEMETRY_WRITE_KEYS: keys separated by commas or spaces); at least one' },
  port: { value: '<n>', kind: integer(0, 65535), default: '8080', help: 'port to listen on (0 picks a free one)' },
  host: { value: '<address>', default: '127.0.0.1', help: 'address to listen on (0.0.0.0 for every interface)' },
  'request-timeout': { value: '<ms>', kind: integer(1, 3_600_000), default: '10000', help: 'a request (headers and body) not received within this gets 408' },
  'max-file-bytes': { value: '<n>', kind: integer(1024, 2 ** 40), default: String(DEFAULTS.maxFileBytes), help: 'rotate a file once it would pass this size' },
  'dedup-entries': { value: '<n>', kind: integer(0, 10_000_000), default: String(DEFAULTS.dedupEntries), help: 'recent messageIds remembered to drop resent events' },
  'gzip-level': { value: '<0-9>', kind: integer(0, 9), default: String(DEFAULTS.gzipLevel), help: 'gzip level of stored members' },
  'log-level': { value: '<level>', kind: oneOf(LOG_LEVELS), default: 'warn', help: 'pino level of the request log, which never holds an address' }
}

function writeKeyFrom (text: string, where: string): WriteKey {
  const at = text.lastIndexOf('=')
  const writeKey = at === -1 ? text : text.slice(0, at)
  if (writeKey.length === 0) throw usageError(`${where} must be <key> or <key>=<sourceId>; received ${JSON.stringify(text)}`)
  return at === -1 ? { writeKey } : { writeKey, sourceId: text.slice(at + 1) }
}

/** The configuration from parsed values and TELEMETRY_WRITE_KEYS; a usage error names what is wrong. */
function configFrom (values: Record<string, unknown>, env: NodeJS.ProcessEnv): ServeConfig {
  const fromEnv = (env.TELEMETRY_WRITE_KEYS ?? '').split(/[\s,]+/).filter(key => key !== '').map(key => writeKeyFrom(key, 'TELEMETRY_WRITE_KEYS'))
  const fromFlags = ((values['write-key'] ?? []) as string[]).map(key => writeKeyFrom(key, '--write-key'))
  const writeKeys = [...fromFlags, ...fromEnv]
  if (writeKeys.length === 0) throw usageError('--write-key is required: <key>[=<sourceId>] (or TELEMETRY_WRITE_KEYS set)')
  return {
    dataDir: values.data as string,
    writeKeys,
    port: (values.port ?? 8080) as number,
    host: (values.host ?? '127.0.0.1') as string,
    requestTimeout: (values['request-timeout'] ?? 10_000) as number,
    maxFileBytes: (values['max-file-bytes'] ?? DEFAULTS.maxFileBytes) as number,
    dedupEntries: (values['dedup-entries'] ?? DEFAULTS.dedupEntries) as number,
    gzipLevel: (values['gzip-level'] ?? DEFAULTS.gzipLevel) as number,
    logLevel: (values['log-level'] ?? 'warn') as string
  }
}

/** `serve`'s flags (and TELEMETRY_WRITE_KEYS) as a configuration; a usage error (FST_TELEMETRY_COLLECTOR_USAGE) names the wrong flag. */
export function serveConfig (argv: string[], env: NodeJS.ProcessEnv = process.env): ServeConfig {
  const parsed = parse('serve', SERVE, argv)
  if (parsed.help) throw usageError('--help is not a configuration')
  return configFrom(parsed.values, env)
}

/** Fails at once, naming the path and why, when the data directory cannot be created or written. */
async function checkDataDir (dataDir: string): Promise<void> {
  const logs = logsDir(dataDir)
  await ensureDir(logs)
  const probe = join(logs, `.serve-${randomBytes(8).toString('hex')}`)
  await (await open(probe, 'wx')).close()
  await unlink(probe)
}

async function serve ({ values }: Args, io: Io): Promise<number> {
  const config = configFrom(values, io.env)
  await checkDataDir(config.dataDir)
  const running = await startServer(config, io.out as NodeJS.WritableStream)
  io.out.write(`${BIN} listening on ${running.url}\nwriting to ${running.writesTo}\n`)
  const signal = await io.stopped
  io.out.write(`${signal}: closing (requests in flight are answered, files synced and closed)\n`)
  await running.close()
  io.out.write('stopped\n')
  return 0
}

export const SERVE: Command = {
  summary: 'receive events (Segment\'s HTTP API) and store them in Segment\'s S3 layout, until SIGINT or SIGTERM',
  flags: FLAGS,
  run: serve
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
