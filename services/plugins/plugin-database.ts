import type { PGlite } from '@electric-sql/pglite'
import { drizzle as drizzleNodePg } from 'drizzle-orm/node-postgres'
import { drizzle as drizzlePglite } from 'drizzle-orm/pglite'
import type { FastifyBaseLogger } from 'fastify'
import pg from 'pg'
import type { Config } from '../core/config.js'
import { resolvePostgresSettings } from '../database/postgres-settings.js'
import { guardTransactions } from '../database/transaction-guard.js'
import { pluginRoleName, type PluginDatabase, type PluginTables } from './definition.js'

export interface PluginConnection {
  db: PluginDatabase
  close(): Promise<void>
}

/** Plugins do little work each; a few connections apiece keep the server's connection count bounded. */
const PLUGIN_POOL_MAX = 3

/**
 * PostgreSQL: a small pool of the plugin's own whose connections start as the plugin's role
 * (`-c role=…` in the startup packet: no extra round trip per query or per connection, and a
 * connection that cannot take the role fails instead of running as the login user).
 */
export function openPostgresPluginDatabase(id: string, tables: PluginTables, config: Config, log: FastifyBaseLogger): PluginConnection {
  const { pool: settings } = resolvePostgresSettings(config.postgres, { max: PLUGIN_POOL_MAX })
  const pool = new pg.Pool({ ...settings, options: `-c role=${pluginRoleName(id)}`, application_name: `groundwork-plugin-${id}` })
  pool.on('error', (error) => log.warn({ err: error }, `an idle connection of plugin ${id} failed; its pool opens a new one`))
  const db = guardTransactions(drizzleNodePg({ client: pool, schema: tables }) as unknown as PluginDatabase, pool, ['query'])
  return { db, close: () => pool.end() }
}

/**
 * PGlite has one connection, shared with the core: each plugin query runs in a transaction of its
 * own that first does SET LOCAL ROLE, so the role never outlives the plugin's statement. PGlite
 * checks privileges after SET ROLE like PostgreSQL does.
 */
export function openPglitePluginDatabase(id: string, tables: PluginTables, client: PGlite): PluginConnection {
  const setRole = `set local role ${pluginRoleName(id)}`
  const scoped = {
    query: (text: string, params?: unknown[], options?: object) =>
      client.transaction(async (tx) => {
        await tx.exec(setRole)
        return tx.query(text, params, options)
      }),
    transaction: <T>(callback: (tx: unknown) => Promise<T>) =>
      client.transaction(async (tx) => {
        await tx.exec(setRole)
        return callback(tx)
      }),
  }
  const db = guardTransactions(drizzlePglite({ client: scoped as unknown as PGlite, schema: tables }) as unknown as PluginDatabase, scoped, ['query', 'transaction'])
  return { db, close: async () => undefined }
}
