// TEMPORARY until the module shape's defineErrors lands on main.
import { ServiceError } from '../core/errors.js'

const _codes = {
  setting_not_found: 404,
  invalid_setting_value: 400,
  encryption_key_mismatch: 500,
  encrypted_value_unreadable: 500,
} as const

export function settingsError(code: keyof typeof _codes, message: string, options: { cause?: unknown; details?: Record<string, unknown> } = {}): ServiceError {
  return new ServiceError(code as never, message, options)
}
