import { DuckDBInstance, type DuckDBConnection } from '@duckdb/node-api'
import { FST_TELEMETRY_COLLECTOR_DATABASE_MODEL } from './errors'
import { MODEL_VERSION, SCHEMA } from './model'

export interface Database {
  instance: DuckDBInstance
  connection: DuckDBConnection
  close(): void
}

/**
 * Opens (creating when missing) a fleet database with the ingest tables in place. DuckDB locks the file: one
 * process holds it at a time, so a second `ingest` or a `report` running meanwhile fails to open it. `memoryLimit` is
 * DuckDB's memory_limit (a size such as `'2GB'`).
 */
export async function openDatabase (path: string, memoryLimit?: string): Promise<Database> {
  const instance = await DuckDBInstance.create(path, memoryLimit === undefined ? {} : { memory_limit: memoryLimit })
  const connection = await instance.connect()
  try {
    await checkModel(connection, path)
  } catch (error) {
    connection.closeSync()
    instance.closeSync()
    throw error
  }
  await connection.run(SCHEMA)
  return {
    instance,
    connection,
    close () {
      connection.closeSync()
      instance.closeSync()
    }
  }
}

/** Throws when the database at `path` holds tables of another model version than this collector's (none yet is fine). */
export async function checkModel (connection: DuckDBConnection, path: string): Promise<void> {
  const tables = new Set((await rows(connection, 'SELECT table_name FROM duckdb_tables() WHERE database_name = current_database() AND schema_name = \'main\'')).map(r => r.table_name))
  if (!tables.has('events')) return
  const found = tables.has('ingest_model') ? Number((await rows(connection, 'SELECT max(version) AS v FROM ingest_model'))[0].v) : 1
  if (found !== MODEL_VERSION) throw new FST_TELEMETRY_COLLECTOR_DATABASE_MODEL(path, found, MODEL_VERSION)
}

/** Rows of a query as plain objects (BIGINTs as JSON-safe strings or numbers, as DuckDB's JSON conversion gives). */
export async function rows (connection: DuckDBConnection, sql: string): Promise<Array<Record<string, unknown>>> {
  return (await connection.runAndReadAll(sql)).getRowObjectsJson() as Array<Record<string, unknown>>
}
