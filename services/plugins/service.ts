import type { PGlite } from '@electric-sql/pglite'
import type { FastifyBaseLogger } from 'fastify'
import type { Config, DatabaseType } from '../core/config.js'
import { driverError, messageOf } from '../core/errors.js'
import type { Database } from '../database/connection.js'
import type { SettingsGroupDefinition } from '../settings/definition.js'
import { sql } from 'drizzle-orm'
import { rowsOf } from '../database/results.js'
import { pluginRoleName, pluginSchemaName, pluginSettingsGroupId, type PluginContext, type PluginSettings } from './definition.js'
import { pluginError } from './errors.js'
import { pluginSettingsGroups, type LoadedPlugin } from './loader.js'
import { migratePlugin } from './migrations.js'
import { openPglitePluginDatabase, openPostgresPluginDatabase, type PluginConnection } from './plugin-database.js'
import { dropPlugin, type DropResult } from './drop.js'
import { checkRoleCapability, pluginSchemas } from './roles.js'
import type { PluginState, PluginStatus } from './schemas.js'

interface Entry {
  plugin: LoadedPlugin
  state: PluginState
  error: string | null
  tables: string[]
  connection: PluginConnection | null
}

export interface PluginHostOptions {
  config: Config
  log: FastifyBaseLogger
  databaseType: () => DatabaseType | null
  /** The settings service's reader; resolved late, since settings is registered after the plugins. */
  readSetting: (key: string) => Promise<unknown>
}

/**
 * Runs the loaded plugins with the database: applies each one's migrations as its own role, opens
 * its isolated database handle, and reports every plugin (and every schema left by a removed one).
 */
export class PluginHost {
  private readonly entries = new Map<string, Entry>()
  private orphans: { id: string; tables: string[] }[] = []

  constructor(
    plugins: LoadedPlugin[],
    private readonly options: PluginHostOptions,
  ) {
    for (const plugin of plugins) this.entries.set(plugin.definition.id, { plugin, state: 'loaded', error: null, tables: [], connection: null })
  }

  get ids(): string[] {
    return [...this.entries.keys()]
  }

  loaded(): LoadedPlugin[] {
    return [...this.entries.values()].map((entry) => entry.plugin)
  }

  /** The plugins' settings groups, by where they come from (named in definition errors). */
  settingsGroups(): Record<string, SettingsGroupDefinition> {
    return pluginSettingsGroups([...this.entries.values()].map((entry) => entry.plugin))
  }

  context(id: string): PluginContext {
    const log = this.options.log.child({ plugin: id })
    const settings: PluginSettings = { get: (name: string) => this.options.readSetting(`${pluginSettingsGroupId(id)}.${name}`) as never }
    return { id, log, settings, getDb: () => this.database(id) }
  }

  /** Runs when the database is ready (after our migrations). Throws when a plugin failed, so the lifecycle retries it. */
  async start(db: Database): Promise<void> {
    const type = this.options.databaseType()
    const pending = [...this.entries.values()].filter((entry) => entry.state !== 'running')
    if (type === 'postgresql' && pending.length > 0) {
      const capability = await checkRoleCapability(db, pending.map((entry) => entry.plugin.definition.id)).catch((error: unknown) => {
        throw new Error(`could not check whether plugins can run as their own roles: ${messageOf(driverError(error))}`, { cause: error })
      })
      if (!capability.ok) {
        for (const entry of pending) Object.assign(entry, { state: 'refused', error: capability.problem })
        this.options.log.error(capability.problem ?? 'plugins cannot run isolated')
        await this.findOrphans(db)
        return
      }
    }
    const failed: string[] = []
    for (const entry of pending) {
      const { id } = entry.plugin.definition
      try {
        const result = await migratePlugin(db, entry.plugin, (tag) => this.options.log.info({ plugin: id, migration: tag }, `applied migration ${tag} of plugin ${id}`))
        if (result.changed.length > 0) this.options.log.warn({ plugin: id, changed: result.changed }, `migration file(s) of plugin ${id} changed after they were applied; put the change in a new migration`)
        const tables = entry.plugin.definition.tables ?? {}
        const connection = type === 'postgresql' ? openPostgresPluginDatabase(id, tables, this.options.config, this.options.log) : openPglitePluginDatabase(id, tables, pgliteClient(db))
        await verifyRole(connection, id).catch(async (error: unknown) => {
          await connection.close().catch(() => undefined)
          throw error
        })
        entry.connection = connection
        Object.assign(entry, { state: 'running', error: null })
      } catch (error) {
        const message = messageOf(driverError(error))
        Object.assign(entry, { state: 'failed', error: message })
        failed.push(`${id}: ${message}`)
        this.options.log.error({ err: error, plugin: id }, `plugin ${id} could not start: ${message}`)
      }
    }
    await this.findOrphans(db)
    if (failed.length > 0) throw new Error(`plugin${failed.length === 1 ? '' : 's'} could not start: ${failed.join('; ')}`)
  }

  async stop(): Promise<void> {
    for (const entry of this.entries.values()) {
      const connection = entry.connection
      entry.connection = null
      if (entry.state === 'running') entry.state = 'loaded'
      await connection?.close().catch((error: unknown) => this.options.log.warn({ err: error }, `closing plugin ${entry.plugin.definition.id}'s connections failed`))
    }
  }

  problems(): string[] {
    const entries = [...this.entries.values()]
    // One refusal covers every plugin it names: say it once.
    const refusal = entries.find((entry) => entry.state === 'refused')?.error
    const failed = entries.filter((entry) => entry.state === 'failed').map((entry) => `plugin ${entry.plugin.definition.id}: ${entry.error}`)
    return [...(refusal ? [refusal] : []), ...failed]
  }

  status(): PluginStatus[] {
    const loaded = [...this.entries.values()].map(({ plugin, state, error, tables }) => ({ id: plugin.definition.id, version: plugin.definition.version, state, tables, orphaned: false, error }))
    const orphaned = this.orphans.map(({ id, tables }) => ({
      id,
      version: null,
      state: 'orphaned' as const,
      tables,
      orphaned: true,
      error: `No plugin "${id}" is installed, but schema ${pluginSchemaName(id)} and its data remain. Reinstall the plugin to use them again, or remove them for good with "npm run db -- plugin drop ${id}".`,
    }))
    return [...loaded, ...orphaned]
  }

  /** Removes a removed plugin's schema, data and role (see dropPlugin), then reports it gone. */
  async drop(db: Database, id: string, confirm: string): Promise<DropResult> {
    const result = await dropPlugin(db, id, { confirm, installed: this.ids })
    await this.findOrphans(db)
    return result
  }

  /** Re-reads which schemas are left over; after a drop, or at start. */
  async findOrphans(db: Database): Promise<void> {
    const schemas = await pluginSchemas(db)
    for (const schema of schemas) {
      const entry = this.entries.get(schema.id)
      if (entry) entry.tables = schema.tables
    }
    this.orphans = schemas.filter((schema) => !this.entries.has(schema.id))
  }

  private database(id: string) {
    const entry = this.entries.get(id)
    if (entry?.connection) return entry.connection.db
    const why =
      entry?.state === 'refused' || entry?.state === 'failed'
        ? entry.error
        : 'The database is not ready yet (or the server is shutting down); try again in a moment. GET /api/db/status shows the plugin\'s state.'
    throw pluginError('plugin_not_ready', `Plugin "${id}" is not running. ${why}`)
  }
}

/** Proves, before the plugin gets its handle, that its queries really run as its role. */
async function verifyRole(connection: PluginConnection, id: string): Promise<void> {
  const [row] = rowsOf<{ role: string }>(await connection.db.execute(sql`select current_user as role`))
  if (row?.role !== pluginRoleName(id)) throw new Error(`its queries run as "${row?.role}" instead of its role ${pluginRoleName(id)}; it was not started`)
}

/** PGlite is one connection in this process: the plugin's handle goes through the core's client. */
function pgliteClient(db: Database): PGlite {
  return (db as unknown as { $client: PGlite }).$client
}
