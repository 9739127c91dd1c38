import { defineErrors } from '../core/errors.js'

export const settingsError = defineErrors({
  setting_not_found: 404,
  invalid_setting_value: 400,
  encryption_key_mismatch: 500,
  encrypted_value_unreadable: 500,
  settings_not_started: 503,
})
