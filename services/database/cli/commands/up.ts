import { initializeDatabase } from '../../initialize.js'
import { inspectMigrations, readMigrations } from '../../migrator.js'
import { EXIT, type Command } from '../command.js'
import { defaultBackupPath, describeBackup, fromPglite, writeVerifiedBackup } from '../embedded-backup.js'

export const up: Command = {
  name: 'up',
  summary: 'apply pending migrations to the selected database (what the server does at startup)',
  details: [
    'With the embedded database, stop the server first: it holds the data folder (and applies migrations itself at startup).',
    'Before applying anything to the embedded database, a verified backup is saved to persistent_data/backups/.',
  ].join('\n'),
  async run(context) {
    const type = await context.selectedType()
    const files = await readMigrations(context.config.migrationsFolder)
    const connection = await context.openSelected({ create: true })
    try {
      context.print(`applying migrations to the ${type} database at ${connection.description}`)
      for (const tag of connection.migratedAtCreation) context.print(`applied ${tag}`)
      if (connection.pglite && !connection.createdFresh && (await inspectMigrations(connection.db, files)).pending.length > 0) {
        const file = defaultBackupPath(context.config, type)
        context.print(describeBackup(await writeVerifiedBackup(file, fromPglite(connection.pglite))))
      }
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
