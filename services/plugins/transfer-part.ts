import type { TransferPart } from '../database/transfer/parts.js'
import { pluginSchemaName } from './definition.js'
import type { LoadedPlugin } from './loader.js'
import { PLUGIN_JOURNAL_TABLE, migratePlugin } from './migrations.js'

/**
 * What `db transfer` and the logical backups carry for each installed plugin: its schema's
 * tables. On the target its migrations create them first, as its role (the role is created there
 * too), and the journal is written by them, so it is not copied.
 */
export function pluginParts(plugins: LoadedPlugin[]): TransferPart[] {
  return plugins.map((plugin) => ({
    name: `plugin ${plugin.definition.id}`,
    schemas: [pluginSchemaName(plugin.definition.id)],
    owns: (table) => table.name !== PLUGIN_JOURNAL_TABLE,
    async prepareTarget(target) {
      await migratePlugin(target.db, plugin)
      // SET LOCAL ROLE outlives the savepoint it ran in: the rows are copied as the login user.
      await target.exec('reset role')
    },
  }))
}
