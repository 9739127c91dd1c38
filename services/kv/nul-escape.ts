import { parseJsonText } from './json-text.js'
import { defineEntry, type JsonValue } from './json-value.js'

/*
 * PostgreSQL's jsonb cannot hold U+0000, in strings or in names. Rather than refuse valid JSON,
 * the stored form escapes it with U+0001 as the marker: U+0001 becomes U+0001 U+0001 and U+0000
 * becomes U+0001 "0". Every marker in the stored text starts a pair, so decoding is unambiguous.
 * Both characters are rare, so nearly every value is stored exactly as given.
 */
const MARK = '\u0001'
// eslint-disable-next-line no-control-regex -- matching these two control characters is the point
const ENCODE = /[\u0000\u0001]/g
// eslint-disable-next-line no-control-regex -- as above
const DECODE = /\u0001([\u00010])/g

/** The JSON text to store for `json` (a value's JSON.stringify text). */
export function toStoredText(value: JsonValue, json: string): string {
  // JSON.stringify writes both characters as \u0000 and \u0001, so their absence is cheap to see.
  if (!json.includes('\\u0000') && !json.includes('\\u0001')) return json
  return JSON.stringify(mapStrings(value, encodeString))
}

/** The value for stored JSON text (jsonb's text output writes U+0001 as \u0001). */
export function fromStoredText(text: string): JsonValue {
  const value = parseJsonText(text)
  return text.includes('\\u0001') ? mapStrings(value, decodeString) : value
}

export function encodeString(text: string): string {
  return text.replace(ENCODE, (char) => (char === MARK ? MARK + MARK : `${MARK}0`))
}

export function decodeString(text: string): string {
  return text.replace(DECODE, (_, char: string) => (char === '0' ? '\u0000' : MARK))
}

function mapStrings(value: JsonValue, map: (text: string) => string): JsonValue {
  if (typeof value === 'string') return map(value)
  if (Array.isArray(value)) return value.map((item) => mapStrings(item, map))
  if (value === null || typeof value !== 'object') return value
  const copy: Record<string, JsonValue> = {}
  for (const [name, item] of Object.entries(value)) defineEntry(copy, map(name), mapStrings(item, map))
  return copy
}
