import type { FastifyBaseLogger } from 'fastify'
import type { FastifyPluginAsyncTypebox } from '@fastify/type-provider-typebox'
import type { PgDatabase, PgQueryResultHKT } from 'drizzle-orm/pg-core'
import type { Job } from 'pg-boss'
import type { JobDefinition } from '../jobs/definition.js'
import type { SettingDefinition, ValueOfType } from '../settings/definition.js'

/** What a plugin's id must look like: it names a PostgreSQL schema, a role and a URL segment. */
// No "__": job queue names (plugins.<id>.<job>) reserve it for dead-letter queues.
export const PLUGIN_ID = /^(?!.*__)[a-z][a-z0-9_]{1,30}$/
/** PLUGIN_ID in words, for messages. */
export const PLUGIN_ID_RULE = '2 to 31 characters: a-z first, then a-z, 0-9, _, never "__"'

/** A plugin's tables: the exports of its schema module (`import * as tables from './schema.js'`). */
export type PluginTables = Record<string, unknown>

/**
 * The database a plugin receives: typed with its own tables, running as the plugin's role, so
 * PostgreSQL itself refuses anything outside the plugin's schema (permission denied, 42501).
 */
export type PluginDatabase<T extends PluginTables = PluginTables> = PgDatabase<PgQueryResultHKT, T>

/** One setting of a plugin; its key becomes `plugins.<id>.<name>`. */
export interface PluginSettingDefinition extends Omit<SettingDefinition, 'key'> {
  /** lower_snake_case, unique within the plugin */
  name: string
}

/** The plugin's settings group: shown and edited through /api/settings like ours, as group `plugins.<id>`. */
export interface PluginSettingsGroup<S extends readonly PluginSettingDefinition[] = readonly PluginSettingDefinition[]> {
  name: string
  description: string
  settings: S
}

type SettingName<S extends readonly PluginSettingDefinition[]> = S[number]['name']
type SettingTypeOf<S extends readonly PluginSettingDefinition[], N> = Extract<S[number], { name: N }>['type']

/** The plugin's own settings, by their short names: `await settings.get('greeting')`. */
export interface PluginSettings<S extends readonly PluginSettingDefinition[] = readonly PluginSettingDefinition[]> {
  get<N extends SettingName<S>>(name: N): Promise<ValueOfType<SettingTypeOf<S, N>> | null>
}

/** What a plugin's routes and jobs are handed. */
export interface PluginContext<T extends PluginTables = PluginTables, S extends readonly PluginSettingDefinition[] = readonly PluginSettingDefinition[]> {
  id: string
  /**
   * The plugin's database, as its role; throws plugin_not_ready (503, saying why) while the
   * plugin is not running. Call it per use, never keep the result.
   */
  getDb(): PluginDatabase<T>
  settings: PluginSettings<S>
  log: FastifyBaseLogger
}

/** The queue options of services/jobs (retries, dead letter, schedule, batching); the queue is named `plugins.<id>.<name>`. */
export type PluginJobOptions = Omit<JobDefinition, 'name' | 'handler'>

/** A background job the plugin declares; the jobs service (pg-boss) runs it. */
export interface PluginJobDefinition<T extends PluginTables = PluginTables, S extends readonly PluginSettingDefinition[] = readonly PluginSettingDefinition[], D extends object = object> {
  /** lower_snake_case, unique within the plugin */
  name: string
  /** Runs one job with the plugin's context; throwing fails it (retried, then dead-lettered). `job.signal` aborts when the server stops. */
  handler(job: Job<D>, context: PluginContext<T, S>): Promise<unknown>
  options?: PluginJobOptions
}

export interface PluginDefinition<T extends PluginTables = PluginTables, S extends readonly PluginSettingDefinition[] = readonly PluginSettingDefinition[]> {
  /** Matches PLUGIN_ID; its schema is `plugin_<id>`, its role `groundwork_plugin_<id>`, its routes `/api/plugins/<id>/`. */
  id: string
  version: string
  /** Every table lives in `pgSchema('plugin_<id>')`; anything else stops startup. */
  tables?: T
  /** drizzle-kit's output for this plugin (absolute: `fileURLToPath(new URL('./drizzle', import.meta.url))`). Required when it has tables. */
  migrationsFolder?: string
  /** Mounted under /api/plugins/<id>/, encapsulated; receives the plugin's context as its options. */
  routes?: FastifyPluginAsyncTypebox<PluginContext<T, S>>
  settings?: PluginSettingsGroup<S>
  jobs?: readonly PluginJobDefinition<T, S>[]
}

/** Keeps the plugin's table and setting types, so its routes see typed tables and settings. */
export function definePlugin<T extends PluginTables, const S extends readonly PluginSettingDefinition[] = readonly []>(plugin: PluginDefinition<T, S>): PluginDefinition<T, S> {
  return plugin
}

export function pluginSchemaName(id: string): string {
  return `plugin_${id}`
}

export function pluginRoleName(id: string): string {
  return `groundwork_plugin_${id}`
}

export function pluginQueueName(id: string, job: string): string {
  return `plugins.${id}.${job}`
}

export function pluginSettingsGroupId(id: string): string {
  return `plugins.${id}`
}
