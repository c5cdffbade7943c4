import { parseArgs } from 'node:util'
import { buildReport } from './report'

export const REPORT_USAGE = 'usage: fastify-anonymous-telemetry-collector report --db <fleet.duckdb> --out <dir> [--min-installations <k>]'

interface Output { write (text: string): unknown }

/** `report`: exit code 0 on success, 2 on bad usage (the message names the option), 1 when the report fails. */
export async function runReportCommand (argv: string[], out: Output = process.stdout, err: Output = process.stderr): Promise<number> {
  let values
  try {
    values = parseArgs({ args: argv, strict: true, options: { db: { type: 'string' }, out: { type: 'string' }, 'min-installations': { type: 'string' } } }).values
    if (values.db === undefined || values.out === undefined) throw new Error(`missing option ${values.db === undefined ? '--db' : '--out'}`)
  } catch (error) {
    err.write(`${(error as Error).message}\n${REPORT_USAGE}\n`)
    return 2
  }
  const k = values['min-installations']
  try {
    const result = await buildReport(values.db, values.out, { minInstallations: k === undefined ? undefined : Number(k) })
    out.write(`${result.htmlPath}\n${result.summary.join('\n')}\n`)
    return 0
  } catch (error) {
    err.write(`${(error as Error).message}\n`)
    return (error as { code?: string }).code === 'FST_TELEMETRY_COLLECTOR_MIN_INSTALLATIONS' ? 2 : 1
  }
}
