import { access, readdir, stat } from 'node:fs/promises'
import { join } from 'node:path'
import { pathToFileURL } from 'node:url'
import type { Config } from '../core/config.js'
import { messageOf } from '../core/errors.js'
import { readMigrations, type MigrationFile } from '../database/migrator.js'
import { PluginLoadError } from './errors.js'
import type { SettingsGroupDefinition } from '../settings/definition.js'
import { pluginSettingsGroupId, type PluginDefinition } from './definition.js'
import { validatePlugin, type PluginSource } from './validate.js'

export interface LoadedPlugin {
  definition: PluginDefinition
  where: string
  /** Empty for a plugin without tables. */
  migrations: MigrationFile[]
}

/**
 * The plugins' settings groups, as the settings registry takes them (keyed by where each plugin
 * was found, which its errors name): group `plugins.<id>`, keys `plugins.<id>.<name>`.
 */
export function pluginSettingsGroups(plugins: readonly LoadedPlugin[]): Record<string, SettingsGroupDefinition> {
  const groups: Record<string, SettingsGroupDefinition> = {}
  for (const { definition, where } of plugins) {
    if (!definition.settings) continue
    const group = pluginSettingsGroupId(definition.id)
    groups[where] = {
      id: group,
      name: definition.settings.name,
      description: definition.settings.description,
      sort_order: 1000,
      settings: definition.settings.settings.map(({ name, ...setting }) => ({ key: `${group}.${name}`, ...setting })),
    }
  }
  return groups
}

/** The file a plugin folder's definition is read from, in this order (tsx and vitest load .ts). */
const ENTRY_FILES = ['index.ts', 'index.js']

/**
 * Imports every plugin folder under config.pluginsFolder and every package in PLUGINS, checks
 * each, and reads their migrations. Throws PluginLoadError listing every problem of every plugin.
 */
export async function loadPlugins(config: Pick<Config, 'pluginsFolder' | 'pluginPackages'>): Promise<LoadedPlugin[]> {
  const problems: string[] = []
  const candidates: { value: unknown; source: PluginSource }[] = []

  for (const folder of await pluginFolders(config.pluginsFolder)) {
    const where = `plugins/${folder.name}/`
    const entry = await firstExisting(ENTRY_FILES.map((file) => join(folder.path, file)))
    if (!entry) {
      problems.push(`${where}: has no ${ENTRY_FILES.join(' or ')}; a plugin folder exports definePlugin({ … }) from one (or remove the folder)`)
      continue
    }
    const loaded = await importDefault(entry, where, problems)
    if (loaded !== undefined) candidates.push({ value: loaded, source: { where, folderName: folder.name } })
  }
  for (const name of config.pluginPackages) {
    const where = `package "${name}" (PLUGINS)`
    const loaded = await importDefault(name, where, problems)
    if (loaded !== undefined) candidates.push({ value: loaded, source: { where } })
  }

  const plugins: LoadedPlugin[] = []
  const seen = new Map<string, string>()
  for (const { value, source } of candidates) {
    const id = (value as { id?: unknown } | null)?.id
    const first = typeof id === 'string' ? seen.get(id) : undefined
    if (first) {
      problems.push(`plugin "${String(id)}" is defined twice, by ${first} and ${source.where}; remove one, or give one another id`)
      continue
    }
    if (typeof id === 'string') seen.set(id, source.where)
    const found = validatePlugin(value, source)
    problems.push(...found)
    if (found.length > 0) continue
    const definition = value as PluginDefinition
    let migrations: MigrationFile[] = []
    if (definition.migrationsFolder) {
      try {
        migrations = await readMigrations(definition.migrationsFolder, `npm run plugin:generate -- ${definition.id}`)
      } catch (error) {
        problems.push(`plugin "${definition.id}" (${source.where}): ${messageOf(error)}`)
        continue
      }
    }
    plugins.push({ definition, where: source.where, migrations })
  }
  if (problems.length > 0) throw new PluginLoadError(problems)
  return plugins
}

async function pluginFolders(root: string | null): Promise<{ name: string; path: string }[]> {
  if (root === null) return []
  let entries
  try {
    entries = await readdir(root, { withFileTypes: true })
  } catch (error) {
    // No plugins/ folder: no plugin, as with an empty one.
    if ((error as NodeJS.ErrnoException).code === 'ENOENT') return []
    throw error
  }
  const folders: { name: string; path: string }[] = []
  for (const entry of entries) {
    if (entry.name.startsWith('.')) continue
    const path = join(root, entry.name)
    // A symlinked folder is a plugin too (a plugin developed in its own repository, linked in).
    const isFolder = entry.isDirectory() || (entry.isSymbolicLink() && (await stat(path).then((target) => target.isDirectory(), () => false)))
    if (isFolder) folders.push({ name: entry.name, path })
  }
  return folders.sort((a, b) => a.name.localeCompare(b.name))
}

async function importDefault(specifier: string, where: string, problems: string[]): Promise<unknown> {
  try {
    const module = (await import(specifier.startsWith('/') ? pathToFileURL(specifier).href : specifier)) as { default?: unknown }
    return module.default
  } catch (error) {
    const missing = (error as NodeJS.ErrnoException).code === 'ERR_MODULE_NOT_FOUND' && !specifier.startsWith('/')
    problems.push(missing ? `${where}: is not installed; run "npm install ${specifier}" or remove it from PLUGINS` : `${where}: could not be loaded: ${messageOf(error)}`)
    return undefined
  }
}

async function firstExisting(paths: string[]): Promise<string | null> {
  for (const path of paths) {
    if (await access(path).then(() => true, () => false)) return path
  }
  return null
}
