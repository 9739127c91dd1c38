import { relative } from 'node:path'
import { findProjectRoot } from '../core/project-root.js'
import type { Database } from '../database/connection.js'
import { inspectMigrations, migrate, type Journal, type MigrateResult, type MigrationState } from '../database/migrator.js'
import { pluginSchemaName } from './definition.js'
import type { LoadedPlugin } from './loader.js'
import { enterPluginRole } from './roles.js'

export const PLUGIN_JOURNAL_TABLE = '__drizzle_migrations'

export function pluginJournal(plugin: LoadedPlugin): Journal {
  const { id, migrationsFolder } = plugin.definition
  return {
    schema: pluginSchemaName(id),
    table: PLUGIN_JOURNAL_TABLE,
    folder: `${migrationsFolder ? relative(findProjectRoot(), migrationsFolder) : `plugins/${id}/drizzle`}/`,
    generate: `npm run plugin:generate -- ${id}`,
    createSchema: false,
  }
}

/**
 * Applies a plugin's pending migrations the way ours are applied (one transaction, the same
 * advisory lock, out-of-order detection), as the plugin's role: a migration that touches anything
 * outside the plugin's schema fails with permission denied and nothing of it stays.
 */
export async function migratePlugin(db: Database, plugin: LoadedPlugin, onApply?: (tag: string) => void): Promise<MigrateResult> {
  const { id } = plugin.definition
  const createSchema = new RegExp(`^\\s*create\\s+schema\\s+(if\\s+not\\s+exists\\s+)?"?${pluginSchemaName(id)}"?\\s*;?\\s*$`, 'i')
  return migrate(db, plugin.migrations, {
    journal: pluginJournal(plugin),
    onApply,
    prepare: (tx) => enterPluginRole(tx, id),
    skip: (statement) => createSchema.test(statement),
  })
}

export function inspectPluginMigrations(db: Database, plugin: LoadedPlugin): Promise<MigrationState> {
  return inspectMigrations(db, plugin.migrations, pluginJournal(plugin))
}
