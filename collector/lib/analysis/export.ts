import { join, resolve } from 'node:path'
import { ensureDir } from '../storage/layout'
import { openDatabase } from './db'
import { copyToParquet, ROLLUPS } from './model'

/** Writes each roll-up table of the database (opened read-only: never created) as `<outDir>/<table>.parquet` (what Athena, Trino, Spark or ClickHouse read); returns the paths. */
export async function exportParquet (dbPath: string, outDir: string): Promise<string[]> {
  const dir = resolve(outDir)
  const db = await openDatabase(dbPath, { readOnly: true })
  try {
    await ensureDir(dir)
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
