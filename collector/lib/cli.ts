#!/usr/bin/env node
import { runAnalysisCommand, USAGE } from './analysis/cli'

// Bin entry: the analysis subcommands (the receiver adds `serve`).
/* c8 ignore start */ // run as a process only; tests call runAnalysisCommand
if (require.main === module) {
  const [name = '', ...argv] = process.argv.slice(2)
  if (name === '' || name === '--help') process.stdout.write(USAGE)
  else runAnalysisCommand(name, argv).then(code => { process.exitCode = code }, () => { process.exitCode = 1 })
}
/* c8 ignore stop */
