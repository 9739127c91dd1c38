// PROVISIONAL until the module shape's defineErrors lands on main.
export const KV_ERRORS = {
  kv_not_found: 404,
  kv_path_conflict: 400,
  kv_invalid_key: 400,
  kv_invalid_path: 400,
  kv_invalid_value: 400,
  kv_invalid_cursor: 400,
  kv_invalid_limit: 400,
  kv_value_too_large: 413,
} as const

export type KvErrorCode = keyof typeof KV_ERRORS

export class KvError extends Error {
  constructor(
    readonly code: KvErrorCode,
    message: string,
    readonly details: Record<string, unknown> = {},
  ) {
    super(message)
  }
}

export function kvError(code: KvErrorCode, message: string, options: { details?: Record<string, unknown> } = {}): KvError {
  return new KvError(code, message, options.details)
}
