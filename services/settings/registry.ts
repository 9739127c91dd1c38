import { SETTING_FORMATS, SETTING_TYPES, type Json, type SettingDefinition, type SettingType, type SettingsGroupDefinition } from './definition.js'

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

export function matchesType(type: SettingType, value: unknown): value is Json {
  switch (type) {
    case 'string':
      return typeof value === 'string'
    case 'number':
      return typeof value === 'number' && Number.isFinite(value)
    case 'boolean':
      return typeof value === 'boolean'
    case 'json':
      return value !== undefined && isJson(value)
  }
}

/** Stored values (not encrypted: those cannot be read here) their definition refuses now, each with why. */
export function misfits(registry: Registry, stored: readonly { key: string; value: unknown; encrypted: boolean }[]): { key: string; problem: string }[] {
  return stored.flatMap(({ key, value, encrypted }) => {
    const definition = registry.byKey.get(key)
    const problem = definition && !encrypted && !definition.encrypted ? valueProblem(definition, value) : null
    return problem ? [{ key, problem }] : []
  })
}

/** Why a value does not fit its setting (type, required, constraints); never repeats the value, which may be a secret. */
export function valueProblem(setting: SettingDefinition, value: unknown): string | null {
  if (value === undefined) return `a value is missing: expected ${article(setting.type)}`
  if (value === null) return setting.required ? `this setting is required: expected ${article(setting.type)}, not null` : null
  if (!matchesType(setting.type, value)) return `expected ${article(setting.type)}, got ${describeType(value)}`
  if (setting.required && setting.type === 'string' && value === '') return 'this setting is required: expected a non-empty string'
  return constraintProblem(setting, value)
}

function describeType(value: unknown): string {
  if (Array.isArray(value)) return 'an array'
  if (typeof value === 'object') return 'an object'
  return `a ${typeof value}`
}

/** Why a value of the right type is still refused by the setting's min, max, integer or format; never repeats the value. */
function constraintProblem(setting: SettingDefinition, value: Json): string | null {
  if (setting.type === 'number' && typeof value === 'number') {
    const { min, max, integer } = setting
    if ((integer && !Number.isInteger(value)) || (min !== undefined && value < min) || (max !== undefined && value > max)) {
      const range = min !== undefined && max !== undefined ? ` from ${min} to ${max}` : min !== undefined ? ` of at least ${min}` : max !== undefined ? ` of at most ${max}` : ''
      return `expected ${integer ? 'a whole number' : 'a number'}${range}`
    }
  }
  if (setting.type === 'string' && typeof value === 'string' && setting.format === 'url' && !(value === '' && !setting.required) && !isHttpUrl(value)) {
    return `expected an absolute http:// or https:// address such as https://groundwork.example.com${setting.required ? '' : ', or "" for none'}`
  }
  return null
}

function isHttpUrl(value: string): boolean {
  if (value !== value.trim() || !URL.canParse(value)) return false
  const url = new URL(value)
  return (url.protocol === 'http:' || url.protocol === 'https:') && url.hostname !== ''
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

export function article(type: SettingType): string {
  return type === 'json' ? 'a JSON value' : `a ${type}`
}

function isJson(value: unknown): boolean {
  if (value === null || typeof value === 'string' || typeof value === 'boolean') return true
  if (typeof value === 'number') return Number.isFinite(value)
  if (Array.isArray(value)) return value.every(isJson)
  if (typeof value === 'object') return Object.getPrototypeOf(value) === Object.prototype && Object.values(value as object).every(isJson)
  return false
}
