import type { DatabaseType } from '../../../core/config.js'
import { driverError, messageOf } from '../../../core/errors.js'
import { loadPlugins, type LoadedPlugin } from '../../../plugins/loader.js'
import { inspectPluginMigrations, migratePlugin } from '../../../plugins/migrations.js'
import { checkRoleCapability, roleGrants } from '../../../plugins/roles.js'
import type { Database } from '../../connection.js'
import { initializeDatabase } from '../../initialize.js'
import { inspectMigrations, readMigrations, type MigrationFile } from '../../migrator.js'
import { CliError, EXIT, type Command } from '../command.js'
import { defaultBackupPath, describeBackup, fromPglite, writeVerifiedBackup } from '../embedded-backup.js'

export const up: Command = {
  name: 'up',
  summary: "apply pending migrations to the selected database, ours then each installed plugin's (what the server does at startup)",
  details: [
    'With the embedded database, stop the server first: it holds the data folder (and applies migrations itself at startup).',
    'Before applying anything to the embedded database, a verified backup is saved to persistent_data/backups/.',
    "Installed plugins (plugins/<id>/, PLUGINS) are migrated after ours, each as its own role in one transaction; on PostgreSQL the user needs CREATEROLE, as for the server.",
  ].join('\n'),
  async run(context) {
    const type = await context.selectedType()
    const files = await readMigrations(context.config.migrationsFolder)
    // Read before anything is touched: a plugin that cannot load stops the command with nothing applied.
    const plugins = await loadPlugins(context.config)
    const connection = await context.openSelected({ create: true })
    try {
      context.print(`applying migrations to the ${type} database at ${connection.description}`)
      for (const tag of connection.migratedAtCreation) context.print(`applied ${tag}`)
      if (connection.pglite && !connection.createdFresh && (await anythingPending(connection.db, files, plugins))) {
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
      await migratePlugins(connection.db, type, plugins, context.print)
      return EXIT.ok
    } finally {
      await connection.close()
    }
  },
}

async function anythingPending(db: Database, files: MigrationFile[], plugins: LoadedPlugin[]): Promise<boolean> {
  if ((await inspectMigrations(db, files)).pending.length > 0) return true
  for (const plugin of plugins) if ((await inspectPluginMigrations(db, plugin)).pending.length > 0) return true
  return false
}

/**
 * Each installed plugin's migrations, as the server applies them at startup. Ours are committed
 * by then; a plugin that fails leaves its own transaction rolled back and the command failing,
 * naming it, so a deployment does not start believing everything is migrated.
 */
async function migratePlugins(db: Database, type: DatabaseType, plugins: LoadedPlugin[], print: (line: string) => void): Promise<void> {
  if (plugins.length === 0) return
  const ids = plugins.map((plugin) => plugin.definition.id)
  if (type === 'postgresql') {
    const capability = await checkRoleCapability(db, ids)
    if (!capability.ok) {
      throw new CliError(
        `Our migrations are applied; the plugins' are not: plugins run as their own PostgreSQL role, and user "${capability.user}" may not create roles (${capability.missing.join(', ')}). ${roleGrants(capability.user, capability.missing)} Then run this command again.`,
      )
    }
  }
  for (const plugin of plugins) {
    const { id } = plugin.definition
    try {
      const result = await migratePlugin(db, plugin, (tag) => print(`applied ${tag} of plugin ${id}`))
      print(result.appliedNow.length === 0 ? `plugin ${id} is up to date (${result.total} migrations applied)` : `plugin ${id}: applied ${result.appliedNow.length} migration(s); ${result.total} in all`)
      if (result.changed.length > 0) print(`warning: migration file(s) of plugin ${id} changed after they were applied: ${result.changed.join(', ')}; put the change in a new migration`)
    } catch (error) {
      const done = ids.slice(0, ids.indexOf(id))
      const why = messageOf(driverError(error))
      throw new CliError(`Plugin ${id}: ${why}${/[.!?]$/.test(why) ? '' : '.'} Our migrations are applied${done.length > 0 ? `, and those of plugin ${done.join(', ')}` : ''}.`)
    }
  }
}
