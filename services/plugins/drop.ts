import { sql } from 'drizzle-orm'
import { driverError, messageOf } from '../core/errors.js'
import type { Database } from '../database/connection.js'
import { lockMigrations } from '../database/migrator.js'
import { rowsOf } from '../database/results.js'
import { PLUGIN_ID, PLUGIN_ID_RULE, pluginRoleName, pluginSchemaName } from './definition.js'
import { pluginError } from './errors.js'

export interface DropResult {
  id: string
  /** Tables that were removed with the schema. */
  tables: string[]
  roleDropped: boolean
  /** Why the role stayed (it may still hold privileges in another database of the server); null when it went. */
  roleKept: string | null
}

/**
 * Removes a removed plugin's schema, data and role for good. Refuses while the plugin is installed
 * (its code would recreate them at the next start) and unless `confirm` repeats the id. One
 * transaction under the migration lock: if the schema cannot go, nothing goes.
 */
export async function dropPlugin(db: Database, id: string, options: { confirm: string; installed: readonly string[] }): Promise<DropResult> {
  if (!PLUGIN_ID.test(id)) throw pluginError('plugin_not_found', `"${id}" is not a plugin id: an id is ${PLUGIN_ID_RULE}, as in plugin_<id>.`)
  if (options.installed.includes(id)) {
    throw pluginError('plugin_still_installed', `Plugin "${id}" is installed: remove its folder plugins/${id}/ (or its package from PLUGINS) and restart first, or its next start would recreate what this removes.`)
  }
  if (options.confirm !== id) {
    throw pluginError('plugin_drop_unconfirmed', `Dropping plugin "${id}" deletes schema ${pluginSchemaName(id)} with all its data, for good. Confirm by repeating the plugin's id.`)
  }
  const schema = pluginSchemaName(id)
  const role = pluginRoleName(id)
  return db.transaction(async (tx) => {
    await lockMigrations(tx)
    const [found] = rowsOf<{ schema_owner: string | null; role_exists: boolean; tables: string[] | null }>(
      await tx.execute(sql`
        select (select pg_get_userbyid(nspowner) from pg_namespace where nspname = ${schema}) as schema_owner,
               exists (select from pg_roles where rolname = ${role}) as role_exists,
               (select array_agg(c.relname::text order by c.relname) from pg_class c join pg_namespace n on n.oid = c.relnamespace
                 where n.nspname = ${schema} and c.relkind in ('r', 'p') and c.relname <> '__drizzle_migrations') as tables`),
    )
    if (!found || (found.schema_owner === null && !found.role_exists)) {
      throw pluginError('plugin_not_found', `There is nothing of plugin "${id}" in this database: no schema ${schema} and no role ${role}.`)
    }
    if (found.schema_owner !== null) {
      // As the owner: the login user may act as the plugin's role without inheriting its ownership.
      if (found.schema_owner === role) await tx.execute(sql.raw(`set local role ${role}`))
      await tx.execute(sql.raw(`drop schema ${schema} cascade`))
      if (found.schema_owner === role) await tx.execute(sql`reset role`)
    }
    let roleKept: string | null = null
    if (found.role_exists) {
      try {
        await tx.transaction(async (savepoint) => {
          await savepoint.execute(sql.raw(`drop owned by ${role}`))
          await savepoint.execute(sql.raw(`drop role ${role}`))
        })
      } catch (error) {
        // Roles belong to the whole server: the same plugin may run against another database there.
        roleKept = `The role ${role} was kept: ${messageOf(driverError(error))}. It owns nothing in this database any more; drop it by hand once no other database uses it (DROP ROLE ${role};).`
      }
    }
    return { id, tables: found.tables ?? [], roleDropped: found.role_exists && roleKept === null, roleKept }
  })
}
