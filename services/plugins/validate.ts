import { is } from 'drizzle-orm'
import { PgTable, getTableConfig } from 'drizzle-orm/pg-core'
import { SETTING_TYPES } from '../settings/definition.js'
import { PLUGIN_ID, PLUGIN_ID_RULE, pluginSchemaName, type PluginDefinition } from './definition.js'

const NAME = /^[a-z][a-z0-9_]*$/

/** Where a plugin came from, for messages: `plugins/notes/` or `package "groundwork-plugin-x"`. */
export interface PluginSource {
  where: string
  /** The folder's name, which must equal the id (removing the folder is how a plugin is removed). */
  folderName?: string
}

/** Every problem of one definition, each a sentence naming the plugin and what to fix. Empty when valid. */
export function validatePlugin(value: unknown, source: PluginSource): string[] {
  const at = source.where
  if (typeof value !== 'object' || value === null) return [`${at}: exports no plugin; export definePlugin({ id, version, … }) as its default export`]
  const plugin = value as Partial<PluginDefinition>
  const problems: string[] = []
  if (typeof plugin.id !== 'string' || !PLUGIN_ID.test(plugin.id)) {
    problems.push(`${at}: id ${JSON.stringify(plugin.id)} must match ${PLUGIN_ID} (${PLUGIN_ID_RULE}), since it names a PostgreSQL schema, a role and job queues`)
    return problems
  }
  const name = `plugin "${plugin.id}" (${at})`
  if (source.folderName !== undefined && source.folderName !== plugin.id) problems.push(`${name}: its folder is named "${source.folderName}"; rename the folder to "${plugin.id}" or the id to "${source.folderName}"`)
  if (typeof plugin.version !== 'string' || plugin.version.trim() === '') problems.push(`${name}: needs a version, e.g. "1.0.0"`)
  if (plugin.routes !== undefined && typeof plugin.routes !== 'function') problems.push(`${name}: routes must be a Fastify plugin function (async (app, context) => { … })`)

  const schema = pluginSchemaName(plugin.id)
  const tables = Object.entries(plugin.tables ?? {}).filter(([, table]) => is(table, PgTable)) as [string, PgTable][]
  for (const [exported, table] of tables) {
    const config = getTableConfig(table)
    if (config.schema !== schema) {
      problems.push(
        `${name}: table "${config.schema ? `${config.schema}.` : ''}${config.name}" (export ${exported}) is outside the plugin's schema; declare it with pgSchema('${schema}').table('${config.name}', …)`,
      )
    }
  }
  if (tables.length > 0 && (typeof plugin.migrationsFolder !== 'string' || plugin.migrationsFolder === '')) {
    problems.push(`${name}: has tables but no migrationsFolder; set migrationsFolder: fileURLToPath(new URL('./drizzle', import.meta.url)) and run "npm run plugin:generate -- ${plugin.id}"`)
  }

  const settingNames = new Set<string>()
  for (const setting of plugin.settings?.settings ?? []) {
    if (typeof setting.name !== 'string' || !NAME.test(setting.name)) problems.push(`${name}: setting name ${JSON.stringify(setting.name)} must be lower_snake_case`)
    else if (settingNames.has(setting.name)) problems.push(`${name}: setting "${setting.name}" is declared twice`)
    else settingNames.add(setting.name)
    if (!(SETTING_TYPES as readonly string[]).includes(setting.type)) problems.push(`${name}: setting "${setting.name}" has type ${JSON.stringify(setting.type)}; expected one of ${SETTING_TYPES.join(', ')}`)
  }
  if (plugin.settings && (typeof plugin.settings.name !== 'string' || plugin.settings.name === '')) problems.push(`${name}: its settings group needs a name`)

  const jobNames = new Set<string>()
  for (const job of plugin.jobs ?? []) {
    if (typeof job.name !== 'string' || !NAME.test(job.name) || job.name.includes('__')) problems.push(`${name}: job name ${JSON.stringify(job.name)} must be lower_snake_case, without "__"`)
    else if (jobNames.has(job.name)) problems.push(`${name}: job "${job.name}" is declared twice`)
    else jobNames.add(job.name)
    if (typeof job.handler !== 'function') problems.push(`${name}: job "${job.name}" needs a handler function`)
  }
  return problems
}
