import { mkdir } from 'node:fs/promises'
import { join, resolve } from 'node:path'
import { openDatabase } from './db'
import { copyToParquet, ROLLUPS } from './model'

/** Writes each roll-up table as `<outDir>/<table>.parquet` (what Athena, Trino, Spark or ClickHouse read); returns the paths. */
export async function exportParquet (dbPath: string, outDir: string): Promise<string[]> {
  const dir = resolve(outDir)
  await mkdir(dir, { recursive: true })
  const db = await openDatabase(dbPath)
  try {
    const written: string[] = []
    for (const table of ROLLUPS) {
      const file = join(dir, `${table}.parquet`)
      await db.connection.run(copyToParquet(table, file))
      written.push(file)
    }
    return written
  } finally {
    db.close()
  }
}
