import { spawn } from 'node:child_process'
import { once } from 'node:events'
import { join } from 'node:path'

/** Another process that holds a DuckDB database open (and locked) until `release`. */
export async function holdOpen (path: string): Promise<{ pid: number, release: () => Promise<void> }> {
  const holder = spawn(process.execPath, ['-e', `
    require('@duckdb/node-api').DuckDBInstance.create(${JSON.stringify(path)}).then(instance => {
      globalThis.held = instance
      process.stdout.write('open\\n')
      process.stdin.resume().on('end', () => process.exit(0))
    })`], { cwd: join(__dirname, '..', '..'), stdio: ['pipe', 'pipe', 'inherit'] })
  await once(holder.stdout, 'data')
  return { pid: holder.pid as number, release: async () => { holder.stdin.end(); await once(holder, 'exit') } }
}
