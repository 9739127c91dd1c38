import { kvError } from './errors.js'

export type JsonValue = null | boolean | number | string | JsonValue[] | { [key: string]: JsonValue }

/** The largest value the store keeps, measured as its JSON text in UTF-8. */
export const MAX_VALUE_BYTES = 1024 * 1024
/**
 * Deeper nesting is refused: PostgreSQL's jsonb parser runs out of stack somewhere past ten
 * thousand levels (PGlite then hangs for good), and no real document needs a thousand.
 */
export const MAX_DEPTH = 1000

// With the u flag a well-formed pair is one code point, so this matches only a lone half.
const LONE_SURROGATE = /\p{Surrogate}/u

export function hasLoneSurrogate(text: string): boolean {
  return LONE_SURROGATE.test(text)
}

/**
 * Checks that `value` is JSON and returns a plain copy of it (what a JSON round trip gives:
 * `toJSON` applied, -0 as 0). Throws kv_invalid_value naming the first place that is not JSON,
 * instead of letting JSON.stringify drop or change it silently.
 */
export function toJsonValue(value: unknown, where = 'value'): JsonValue {
  return normalize(value, where, new Set(), 0, '')
}

function normalize(value: unknown, where: string, ancestors: Set<object>, depth: number, key: string): JsonValue {
  switch (typeof value) {
    case 'string':
      if (hasLoneSurrogate(value)) throw invalid(where, 'is a string with a lone UTF-16 surrogate, which has no UTF-8 encoding; fix the text that produced it')
      return value
    case 'boolean':
      return value
    case 'number':
      if (!Number.isFinite(value)) throw invalid(where, `is ${value}, which JSON cannot hold; store null or a string instead`)
      return value === 0 ? 0 : value
    case 'undefined':
      throw invalid(where, 'is undefined, which JSON cannot hold; use null, or leave the field out')
    case 'bigint':
      throw invalid(where, 'is a BigInt, which JSON cannot hold; store it as a string (value.toString())')
    case 'function':
      throw invalid(where, 'is a function, which JSON cannot hold')
    case 'symbol':
      throw invalid(where, 'is a symbol, which JSON cannot hold')
  }
  if (value === null) return null
  const object = value as Record<string, unknown> & { toJSON?: unknown }
  if (object instanceof Date && Number.isNaN(object.getTime())) throw invalid(where, 'is an invalid Date')
  if (typeof object.toJSON === 'function') return normalize(object.toJSON(key), where, ancestors, depth, key)
  if (ancestors.has(object)) throw invalid(where, 'is a circular reference (it contains itself), which JSON cannot hold')
  if (depth >= MAX_DEPTH) throw invalid(where, `is nested more than ${MAX_DEPTH} levels deep; flatten the structure`)
  ancestors.add(object)
  try {
    if (Array.isArray(object)) {
      const copy: JsonValue[] = []
      for (let i = 0; i < object.length; i++) {
        if (!Object.hasOwn(object, i)) throw invalid(`${where}[${i}]`, 'is a hole in a sparse array, which JSON cannot hold; fill it with null')
        copy.push(normalize(object[i], `${where}[${i}]`, ancestors, depth + 1, String(i)))
      }
      return copy
    }
    const proto = Object.getPrototypeOf(object) as object | null
    if (proto !== Object.prototype && proto !== null) {
      throw invalid(where, `is a ${proto.constructor?.name ?? 'non-plain object'}, which JSON cannot hold; convert it to a plain object or array`)
    }
    const copy: Record<string, JsonValue> = {}
    for (const name of Object.keys(object)) {
      const inner = `${where}${describeKey(name)}`
      if (hasLoneSurrogate(name)) throw invalid(inner, 'has a name with a lone UTF-16 surrogate, which has no UTF-8 encoding')
      defineEntry(copy, name, normalize(object[name], inner, ancestors, depth + 1, name))
    }
    return copy
  } finally {
    ancestors.delete(object)
  }
}

/** Sets an own property, even one named "__proto__", which plain assignment would turn into a prototype change. */
export function defineEntry(object: Record<string, JsonValue>, name: string, value: JsonValue): void {
  Object.defineProperty(object, name, { value, enumerable: true, writable: true, configurable: true })
}

export function isJsonObject(value: JsonValue | undefined): value is Record<string, JsonValue> {
  return typeof value === 'object' && value !== null && !Array.isArray(value)
}

/** The size the limit applies to: the JSON text in UTF-8 bytes. */
export function serializedBytes(json: string): number {
  return Buffer.byteLength(json, 'utf8')
}

export function checkSize(json: string, what: string): void {
  const bytes = serializedBytes(json)
  if (bytes > MAX_VALUE_BYTES) {
    throw kvError('kv_value_too_large', `${what} is ${bytes} bytes as JSON; the limit is ${MAX_VALUE_BYTES} bytes (1 MiB). Split it across several keys.`, {
      details: { bytes, max_bytes: MAX_VALUE_BYTES },
    })
  }
}

function describeKey(name: string): string {
  return /^[A-Za-z_$][\w$]*$/.test(name) ? `.${name}` : `[${JSON.stringify(name)}]`
}

function invalid(where: string, problem: string) {
  return kvError('kv_invalid_value', `The value cannot be stored: ${where} ${problem}.`, { details: { at: where } })
}
