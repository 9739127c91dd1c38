import { pgliteLockPath } from '../../connection.js'
import { pgliteLockHolder } from '../../pglite-lock.js'
import { CliError, EXIT, type Command } from '../command.js'
import { verifyDatabase } from '../verify-checks.js'

export const verify: Command = {
  name: 'verify',
  summary: 'check migrations (same hashes, none pending or unknown), our tables, the settings key and the stored settings',
  details: `Exits ${EXIT.problems} with each problem printed, ${EXIT.ok} when all is well. With the embedded database, stop the server first.`,
  async run(context) {
    const type = await context.selectedType()
    if (type === 'pglite') {
      const holder = await pgliteLockHolder(pgliteLockPath(context.config))
      if (holder) throw new CliError(`The embedded database is in use by ${holder.who}: stop the server, then run verify again (GET /api/db/status shows its migrations meanwhile).`)
    }
    const connection = await context.openSelected()
    let problems: string[]
    try {
      problems = await verifyDatabase(connection.db, context.config, context.log)
    } finally {
      await connection.close()
    }
    if (problems.length === 0) {
      context.print(`the ${type} database at ${connection.description} is consistent: migrations, tables, the settings key and the stored settings all match this build`)
      return EXIT.ok
    }
    context.print(`${problems.length} problem(s) in the ${type} database at ${connection.description}:`)
    for (const problem of problems) context.print(`  - ${problem}`)
    return EXIT.problems
  },
}
