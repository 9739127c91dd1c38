/** What a settings definition module declares. Definitions are code: the database only holds values. */
export const SETTING_TYPES = ['string', 'number', 'boolean', 'json'] as const
export type SettingType = (typeof SETTING_TYPES)[number]

export type Json = string | number | boolean | null | Json[] | { [key: string]: Json }

export interface SettingDefinition {
  /** `<group id>.<name>` */
  key: string
  type: SettingType
  default: Json
  description: string
  encrypted: boolean
  required: boolean
  /** A number's bounds, both included; `integer`: whole numbers only. */
  min?: number
  max?: number
  integer?: boolean
  /** A string's form; '' stays allowed where the setting is not required (it means "not set"). */
  format?: SettingFormat
}

/** `url`: an absolute http:// or https:// address. */
export const SETTING_FORMATS = ['url'] as const
export type SettingFormat = (typeof SETTING_FORMATS)[number]

export interface SettingsGroupDefinition<S extends readonly SettingDefinition[] = readonly SettingDefinition[]> {
  id: string
  name: string
  description: string
  sort_order: number
  settings: S
}

/** Keeps the literal keys and types, so `app.settings.get('smtp.port')` is typed `number | null`. */
export function defineSettingsGroup<const S extends readonly SettingDefinition[]>(group: SettingsGroupDefinition<S>): SettingsGroupDefinition<S> {
  return group
}

export type ValueOfType<T extends SettingType> = T extends 'string' ? string : T extends 'number' ? number : T extends 'boolean' ? boolean : Json
