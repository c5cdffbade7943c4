import { existsSync } from 'node:fs'
import { DuckDBInstance, type DuckDBConnection } from '@duckdb/node-api'
import { FST_TELEMETRY_COLLECTOR_DATABASE, FST_TELEMETRY_COLLECTOR_DATABASE_MODEL, FST_TELEMETRY_COLLECTOR_NO_DATABASE } from '../errors'
import { MODEL_VERSION, SCHEMA } from './model'

export interface Database {
  instance: DuckDBInstance
  connection: DuckDBConnection
  close(): void
}

export interface OpenOptions {
  /**
   * Read only (a report): the file must exist (FST_TELEMETRY_COLLECTOR_NO_DATABASE otherwise), and neither it nor
   * the schema is created. Otherwise (ingest) a missing file is created with the ingest tables.
   */
  readOnly?: boolean
  /** DuckDB's memory_limit (a size such as `'2GB'`). */
  memoryLimit?: string
}

/**
 * Opens a fleet database, refusing one of another model version. DuckDB locks the file: one process that writes
 * holds it at a time, so a second `ingest` or a `report` running meanwhile fails to open it.
 */
export async function openDatabase (path: string, { readOnly = false, memoryLimit }: OpenOptions = {}): Promise<Database> {
  if (readOnly && !existsSync(path)) throw new FST_TELEMETRY_COLLECTOR_NO_DATABASE(path)
  const instance = await DuckDBInstance.create(path, {
    ...(readOnly ? { access_mode: 'READ_ONLY' } : {}),
    ...(memoryLimit === undefined ? {} : { memory_limit: memoryLimit })
  }).catch((error: Error) => { throw new FST_TELEMETRY_COLLECTOR_DATABASE(path, cause(error.message)) })
  const connection = await instance.connect()
  const close = (): void => {
    connection.closeSync()
    instance.closeSync()
  }
  try {
    await checkModel(connection, path)
    if (!readOnly) await connection.run(SCHEMA)
  } catch (error) {
    close()
    throw error
  }
  return { instance, connection, close }
}

/** DuckDB's reason in words, without its "IO Error:" prefix and the path it repeats. */
function cause (message: string): string {
  const pid = /Conflicting lock is held in .* \(PID (\d+)\)/.exec(message)?.[1]
  if (pid !== undefined) return `process ${pid} has it open (one process at a time: run ingest, report and export one after another)`
  if (message.includes('not a valid DuckDB database file')) return 'the file is not a DuckDB database'
  return message.replace(/^[\w ]*Error: /, '').replace(/^Cannot open file "[^"]*": /, '')
}

/** Throws when the database at `path` holds tables of another model version than this collector's (none yet is fine). */
async function checkModel (connection: DuckDBConnection, path: string): Promise<void> {
  const tables = new Set((await rows(connection, 'SELECT table_name FROM duckdb_tables() WHERE database_name = current_database() AND schema_name = \'main\'')).map(r => r.table_name))
  if (!tables.has('events')) return
  const found = tables.has('ingest_model') ? Number((await rows(connection, 'SELECT max(version) AS v FROM ingest_model'))[0].v) : 1
  if (found !== MODEL_VERSION) throw new FST_TELEMETRY_COLLECTOR_DATABASE_MODEL(path, found, MODEL_VERSION)
}

/** Rows of a query (with `$1`, `$2` … bound to `params`) as plain objects (BIGINTs as JSON-safe strings or numbers, as DuckDB's JSON conversion gives). */
export async function rows (connection: DuckDBConnection, sql: string, params?: string[]): Promise<Array<Record<string, unknown>>> {
  return (await connection.runAndReadAll(sql, params)).getRowObjectsJson() as Array<Record<string, unknown>>
}
