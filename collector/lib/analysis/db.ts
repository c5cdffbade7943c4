import { DuckDBInstance, type DuckDBConnection } from '@duckdb/node-api'
import { SCHEMA } from './model'

export interface Database {
  instance: DuckDBInstance
  connection: DuckDBConnection
  close(): void
}

/**
 * Opens (creating when missing) a fleet database with the ingest tables in place. DuckDB locks the file: one
 * process holds it at a time, so a second `ingest` or a `report` running meanwhile fails to open it.
 */
export async function openDatabase (path: string): Promise<Database> {
  const instance = await DuckDBInstance.create(path)
  const connection = await instance.connect()
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

/** Rows of a query as plain objects (BIGINTs as JSON-safe strings or numbers, as DuckDB's JSON conversion gives). */
export async function rows (connection: DuckDBConnection, sql: string): Promise<Array<Record<string, unknown>>> {
  return (await connection.runAndReadAll(sql)).getRowObjectsJson() as Array<Record<string, unknown>>
}
