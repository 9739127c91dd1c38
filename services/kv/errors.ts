import { defineErrors } from '../core/errors.js'

/** The KV store's codes. Both "no such key" and "no such path" are kv_not_found; the message tells which. */
export const kvError = defineErrors({
  kv_not_found: 404,
  kv_path_conflict: 400,
  kv_invalid_key: 400,
  kv_invalid_path: 400,
  kv_invalid_value: 400,
  kv_invalid_cursor: 400,
  kv_invalid_limit: 400,
  kv_value_too_large: 413,
})
