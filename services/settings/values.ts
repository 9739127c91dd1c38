import type { Json, SettingDefinition, SettingType } from './definition.js'
import type { Registry } from './registry.js'

/** Whether values fit their settings: for writes, for defaults (registry.ts) and for stored values (at start, in `db verify`). */

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

/** Why a value of the right type is still refused by the setting's min, max, integer or format; never repeats the value. */
export function constraintProblem(setting: SettingDefinition, value: Json): string | null {
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

export function article(type: SettingType): string {
  return type === 'json' ? 'a JSON value' : `a ${type}`
}

function describeType(value: unknown): string {
  if (Array.isArray(value)) return 'an array'
  if (typeof value === 'object') return 'an object'
  return `a ${typeof value}`
}

function isHttpUrl(value: string): boolean {
  if (value !== value.trim() || !URL.canParse(value)) return false
  const url = new URL(value)
  return (url.protocol === 'http:' || url.protocol === 'https:') && url.hostname !== ''
}

function isJson(value: unknown): boolean {
  if (value === null || typeof value === 'string' || typeof value === 'boolean') return true
  if (typeof value === 'number') return Number.isFinite(value)
  if (Array.isArray(value)) return value.every(isJson)
  if (typeof value === 'object') return Object.getPrototypeOf(value) === Object.prototype && Object.values(value as object).every(isJson)
  return false
}
