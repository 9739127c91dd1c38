import { SETTING_FORMATS, SETTING_TYPES, type SettingDefinition, type SettingsGroupDefinition } from './definition.js'
import { article, constraintProblem, matchesType } from './values.js'

export interface RegisteredGroup extends Omit<SettingsGroupDefinition, 'settings'> {
  module: string
  settings: readonly SettingDefinition[]
}

/** The validated definitions: groups in display order, and every setting by key. */
export interface Registry {
  groups: readonly RegisteredGroup[]
  byKey: ReadonlyMap<string, RegisteredSetting>
}

/** A definition with its group, and its declared constraints gathered for the API (null: none). */
export type RegisteredSetting = SettingDefinition & { group_id: string; constraints: SettingConstraints | null }
export type SettingConstraints = Pick<SettingDefinition, 'min' | 'max' | 'integer' | 'format'>

export class SettingsDefinitionError extends Error {
  constructor(readonly problems: string[]) {
    super(`Invalid settings definitions:\n${problems.map((p) => `  - ${p}`).join('\n')}\nFix the module named (in services/settings/definitions/, or the plugin's settings in its index.ts) and start again.`)
    this.name = 'SettingsDefinitionError'
  }
}

const NAME = /^[a-z][a-z0-9_]*$/
/** Ours are one word; a plugin's group is `plugins.<plugin id>` (services/plugins/), so "plugins" itself is reserved. */
const GROUP_ID = /^(?!plugins$)[a-z][a-z0-9_]*$|^plugins\.[a-z][a-z0-9_]{1,30}$/

/** Checks every module and reports every problem at once, each naming its module and key; throws if any. */
export function buildRegistry(modules: Record<string, SettingsGroupDefinition>): Registry {
  const problems: string[] = []
  const groups: RegisteredGroup[] = []
  const byKey = new Map<string, RegisteredSetting>()
  const groupModule = new Map<string, string>()
  const keyModule = new Map<string, string>()

  for (const [module, group] of Object.entries(modules)) {
    const where = `module "${module}"`
    if (typeof group.id !== 'string' || !GROUP_ID.test(group.id)) problems.push(`${where}: group id "${String(group.id)}" must be lower_snake_case (a-z, 0-9, _), or plugins.<plugin id> for a plugin's group ("plugins" alone is reserved)`)
    else if (groupModule.has(group.id)) problems.push(`${where}: group id "${group.id}" is already defined by module "${groupModule.get(group.id)}"`)
    else groupModule.set(group.id, module)
    if (!Number.isInteger(group.sort_order)) problems.push(`${where}: group "${group.id}" needs an integer sort_order`)
    if (typeof group.name !== 'string' || group.name === '') problems.push(`${where}: group "${group.id}" needs a name`)

    for (const setting of group.settings) {
      const at = `${where}, key "${setting.key}"`
      const name = typeof setting.key === 'string' && setting.key.startsWith(`${group.id}.`) ? setting.key.slice(group.id.length + 1) : null
      if (name === null || !NAME.test(name)) problems.push(`${at}: the key must be "${group.id}.<name>" (its group's namespace, name in lower_snake_case)`)
      if (keyModule.has(setting.key)) problems.push(`${at}: duplicate key, already defined by module "${keyModule.get(setting.key)}"`)
      keyModule.set(setting.key, module)
      if (!(SETTING_TYPES as readonly string[]).includes(setting.type)) {
        problems.push(`${at}: type "${String(setting.type)}" is not one of ${SETTING_TYPES.join(', ')}`)
      } else if (setting.encrypted && setting.default !== null) {
        // A default lives in the code, in clear: an encrypted setting cannot have one.
        problems.push(`${at}: an encrypted setting must have the default null`)
      } else if (setting.default !== null && !matchesType(setting.type, setting.default)) {
        problems.push(`${at}: the default ${JSON.stringify(setting.default)} is not ${article(setting.type)}`)
      } else {
        const declared = constraintDeclarationProblems(setting)
        for (const problem of declared) problems.push(`${at}: ${problem}`)
        const misfit = declared.length === 0 && setting.default !== null ? constraintProblem(setting, setting.default) : null
        if (misfit) problems.push(`${at}: the default ${JSON.stringify(setting.default)} does not fit its own constraints: ${misfit}`)
      }
      if (typeof setting.encrypted !== 'boolean' || typeof setting.required !== 'boolean') problems.push(`${at}: "encrypted" and "required" must be true or false`)
      if (typeof setting.description !== 'string') problems.push(`${at}: needs a description`)
      byKey.set(setting.key, { ...setting, group_id: group.id, constraints: constraintsOf(setting) })
    }
    groups.push({ ...group, module })
  }

  if (problems.length > 0) throw new SettingsDefinitionError(problems)
  groups.sort((a, b) => a.sort_order - b.sort_order || a.id.localeCompare(b.id))
  return { groups, byKey }
}

function constraintsOf({ min, max, integer, format }: SettingDefinition): SettingConstraints | null {
  const declared = Object.entries({ min, max, integer, format }).filter(([, value]) => value !== undefined)
  return declared.length === 0 ? null : (Object.fromEntries(declared) as SettingConstraints)
}

function constraintDeclarationProblems(setting: SettingDefinition): string[] {
  const problems: string[] = []
  const { min, max, integer, format } = setting
  const numeric = min !== undefined || max !== undefined || integer !== undefined
  if (numeric && setting.type !== 'number') problems.push(`min, max and integer apply to numbers only, and this setting is ${article(setting.type)}`)
  if (min !== undefined && !Number.isFinite(min)) problems.push('min must be a finite number')
  if (max !== undefined && !Number.isFinite(max)) problems.push('max must be a finite number')
  if (Number.isFinite(min) && Number.isFinite(max) && min! > max!) problems.push(`min (${min}) is greater than max (${max})`)
  if (integer !== undefined && typeof integer !== 'boolean') problems.push('integer must be true or false')
  if (format !== undefined && setting.type !== 'string') problems.push(`format applies to strings only, and this setting is ${article(setting.type)}`)
  else if (format !== undefined && !(SETTING_FORMATS as readonly string[]).includes(format)) problems.push(`format "${String(format)}" is not one of ${SETTING_FORMATS.join(', ')}`)
  return problems
}
