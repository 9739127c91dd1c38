import { kvError } from './errors.js'
import { hasLoneSurrogate } from './json-value.js'

export const MAX_KEY_BYTES = 512
export const DEFAULT_LIST_LIMIT = 100
export const MAX_LIST_LIMIT = 1000

/** A key is 1–512 bytes of UTF-8 that PostgreSQL's text can hold (no U+0000). */
export function checkKey(key: unknown): string {
  if (typeof key !== 'string') throw kvError('kv_invalid_key', `A key must be a string, not ${typeof key}.`)
  const bytes = Buffer.byteLength(key, 'utf8')
  if (bytes < 1 || bytes > MAX_KEY_BYTES) {
    throw kvError('kv_invalid_key', `A key must be 1 to ${MAX_KEY_BYTES} bytes of UTF-8; this one is ${bytes} bytes.`, { details: { bytes, max_bytes: MAX_KEY_BYTES } })
  }
  if (key.includes('\u0000')) throw kvError('kv_invalid_key', 'A key cannot contain the character U+0000 (PostgreSQL text cannot hold it).')
  if (hasLoneSurrogate(key)) throw kvError('kv_invalid_key', 'A key cannot contain a lone UTF-16 surrogate: it has no UTF-8 encoding.')
  return key
}

/** Whether some key could start with `prefix`: a prefix no key can hold matches nothing, it is not an error. */
export function isPossiblePrefix(prefix: string): boolean {
  return Buffer.byteLength(prefix, 'utf8') <= MAX_KEY_BYTES && !prefix.includes('\u0000') && !hasLoneSurrogate(prefix)
}

export function checkLimit(limit: number | undefined): number {
  if (limit === undefined) return DEFAULT_LIST_LIMIT
  if (!Number.isInteger(limit) || limit < 1 || limit > MAX_LIST_LIMIT) {
    throw kvError('kv_invalid_limit', `limit must be a whole number from 1 to ${MAX_LIST_LIMIT} (default ${DEFAULT_LIST_LIMIT}); got ${limit}.`)
  }
  return limit
}

/** Opaque to callers: the last key of a page, as base64url of its UTF-8 bytes. */
export function encodeCursor(lastKey: string): string {
  return Buffer.from(lastKey, 'utf8').toString('base64url')
}

export function decodeCursor(cursor: string): string {
  const key = Buffer.from(cursor, 'base64url').toString('utf8')
  // Node's decoder skips bad characters; re-encoding tells a cursor we made from anything else.
  if (key === '' || key.includes('\u0000') || encodeCursor(key) !== cursor) {
    throw kvError('kv_invalid_cursor', 'The cursor is not one this service returned. Pass next_cursor from the previous page unchanged, or leave it out to start from the first key.')
  }
  return key
}
