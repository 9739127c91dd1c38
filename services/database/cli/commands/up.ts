import { initializeDatabase } from '../../initialize.js'
import { readMigrations } from '../../migrator.js'
import { EXIT, type Command } from '../command.js'

export const up: Command = {
  name: 'up',
  summary: 'apply pending migrations to the selected database (what the server does at startup)',
  details: 'With the embedded database, stop the server first: it holds the data folder (and applies migrations itself at startup).',
  async run(context) {
    const type = await context.selectedType()
    const files = await readMigrations(context.config.migrationsFolder)
    const connection = await context.openSelected()
    try {
      context.print(`applying migrations to the ${type} database at ${connection.description}`)
      for (const tag of connection.migratedAtCreation) context.print(`applied ${tag}`)
      const result = await initializeDatabase(connection.db, type, files, (tag) => context.print(`applied ${tag}`))
      result.appliedNow.unshift(...connection.migratedAtCreation)
      context.print(
        result.appliedNow.length === 0
          ? `the database is up to date (${result.total} migrations applied)`
          : `applied ${result.appliedNow.length} migration(s); ${result.total} in all`,
      )
      if (result.unknown > 0) context.print(`warning: the database has ${result.unknown} migration(s) this build does not know: it was migrated by a newer version`)
      return EXIT.ok
    } finally {
      await connection.close()
    }
  },
}
