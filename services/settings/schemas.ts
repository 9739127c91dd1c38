import { Type, type Static } from 'typebox'
import { StringEnum } from '../core/http/schemas.js'
import { SETTING_FORMATS, SETTING_TYPES } from './definition.js'

export const SettingBody = Type.Object(
  {
    key: Type.String({ description: '`<group id>.<name>`' }),
    type: StringEnum(SETTING_TYPES),
    value: Type.Unknown({ description: 'the current value; always null for an encrypted setting unless revealed' }),
    default: Type.Unknown(),
    description: Type.String(),
    encrypted: Type.Boolean(),
    required: Type.Boolean(),
    is_set: Type.Boolean({ description: 'a value is stored (for an encrypted setting: whether a secret is stored)' }),
    min: Type.Optional(Type.Number({ description: 'a number: the smallest value accepted (present only when declared)' })),
    max: Type.Optional(Type.Number({ description: 'a number: the largest value accepted (present only when declared)' })),
    integer: Type.Optional(Type.Boolean({ description: 'a number: whole numbers only (present only when declared)' })),
    format: Type.Optional(StringEnum(SETTING_FORMATS, { description: 'a string: url, an absolute http:// or https:// address ("" where not required); present only when declared' })),
  },
  {
    examples: [
      { key: 'smtp.port', type: 'number', value: 587, default: 587, description: 'SMTP server port.', encrypted: false, required: true, is_set: true, min: 1, max: 65535, integer: true },
      { key: 'smtp.password', type: 'string', value: null, default: null, description: 'Password for SMTP authentication.', encrypted: true, required: false, is_set: true },
    ],
  },
)
export type SettingView = Static<typeof SettingBody>

export const GroupBody = Type.Object({
  id: Type.String(),
  name: Type.String(),
  description: Type.String(),
  sort_order: Type.Integer(),
  settings: Type.Array(SettingBody),
})

/** A stored setting that no definition declares any more: kept, never deleted silently. */
export const OrphanBody = Type.Object({
  key: Type.String(),
  group_id: Type.String(),
  type: Type.String(),
  encrypted: Type.Boolean(),
  is_set: Type.Boolean(),
  value: Type.Unknown({ description: 'null for an encrypted setting' }),
  updated_at: Type.String(),
})

export const SettingsListBody = Type.Object({
  groups: Type.Array(GroupBody),
  orphaned: Type.Array(OrphanBody, { description: 'stored settings whose definition was removed from the code' }),
})
export type SettingsList = Static<typeof SettingsListBody>

export const SettingsPatchResult = Type.Object({ settings: Type.Array(SettingBody) })

export const InvalidValuesBody = Type.Object(
  {
    error: Type.String(),
    message: Type.String(),
    errors: Type.Optional(Type.Array(Type.Object({ key: Type.String(), message: Type.String() }))),
  },
  { additionalProperties: true, description: 'A value has the wrong type: `errors` lists each key and what it expects; nothing was changed.' },
)
