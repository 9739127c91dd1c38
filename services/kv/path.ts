import { kvError } from './errors.js'
import { MAX_DEPTH, MAX_VALUE_BYTES, defineEntry, hasLoneSurrogate, isJsonObject, type JsonValue } from './json-value.js'

/** A dot string (`'b._b'`, `'list.0'`) or the parts themselves (`['b', '5']`). */
export type PathInput = string | readonly string[]

interface Step {
  key: string
  /** The part read as an array index: all digits. */
  index: number | null
  /** Whether a missing container here becomes an array: only all-digit parts of a dot string. */
  createsArray: boolean
}

export interface Path {
  steps: Step[]
  /** The path as the caller wrote it: the dot string, or the parts as a JSON array. */
  text: string
  /** `text` ready for a message: a quoted dot string, or the JSON array. */
  shown: string
  dotted: boolean
}

// An array whose last index is i serializes to at least 2i + 3 bytes ("[0,0,…,0]"), so a larger
// index cannot fit: refuse it before allocating the gap.
export const MAX_INDEX = Math.floor((MAX_VALUE_BYTES - 3) / 2)

export function parsePath(path: PathInput): Path {
  if (typeof path === 'string') {
    const parts = path.split('.')
    if (path === '' || parts.some((part) => part === '')) {
      throw invalidPath(JSON.stringify(path), `a dot path needs a name between every two dots and at both ends. To address an empty or dotted name, give the path as an array of parts`)
    }
    return build(parts, true, path)
  }
  if (!Array.isArray(path) || path.length === 0 || path.some((part) => typeof part !== 'string')) {
    throw invalidPath(describeInput(path), 'a path is a dot string or a non-empty array of strings')
  }
  return build(path, false, JSON.stringify(path))
}

function build(parts: readonly string[], dotted: boolean, text: string): Path {
  const shown = dotted ? JSON.stringify(text) : text
  if (parts.length > MAX_DEPTH) throw invalidPath(shown, `it has more than ${MAX_DEPTH} parts`)
  if (parts.some(hasLoneSurrogate)) throw invalidPath(shown, 'it contains a lone UTF-16 surrogate, which no stored name can match')
  const steps = parts.map((key) => {
    const index = /^[0-9]+$/.test(key) ? Number(key) : null
    return { key, index, createsArray: dotted && index !== null }
  })
  return { steps, text, shown, dotted }
}

export type Lookup = { found: true; value: JsonValue } | { found: false; missing: string }

/** The value at `path` inside `root`, or which part is missing. Arrays take all-digit parts only. */
export function readAt(root: JsonValue, path: Path): Lookup {
  let current = root
  for (const [i, step] of path.steps.entries()) {
    const at = describeAt(path, i)
    if (Array.isArray(current)) {
      if (step.index === null || step.index >= current.length) {
        return { found: false, missing: `${at} is an array of ${current.length} item(s), which has no index "${step.key}"` }
      }
      current = current[step.index]!
    } else if (isJsonObject(current)) {
      if (!Object.hasOwn(current, step.key)) return { found: false, missing: `${at} has no "${step.key}"` }
      current = current[step.key]!
    } else {
      return { found: false, missing: `${at} is ${current === null ? 'null' : `a ${typeof current}`}, which has no "${step.key}"` }
    }
  }
  return { found: true, value: current }
}

/**
 * Writes `value` at `path` inside `root` (a missing key starts from `{}`) and returns the new root.
 * Changes `root` in place: give it a copy you own. Throws kv_path_conflict, before any change, when
 * a part that is not all digits meets an existing array (JSON arrays cannot hold named entries).
 */
export function writeAt(root: JsonValue | undefined, path: Path, value: JsonValue): JsonValue {
  const { steps } = path
  const place = (node: JsonValue | undefined, i: number): JsonValue => {
    const step = steps[i]!
    const last = i === steps.length - 1
    // A missing node, or a scalar in the way, becomes the container this part needs.
    const container = Array.isArray(node) || isJsonObject(node) ? node : step.createsArray ? [] : {}
    if (Array.isArray(container)) {
      if (step.index === null) {
        const at = describeAt(path, i)
        throw kvError('kv_path_conflict', `Cannot set ${path.shown}: ${at} is an array, and JSON arrays cannot hold the named entry "${step.key}". Nothing was changed. Use an index (all digits), or first replace ${at} with an object.`, {
          details: { path: path.text },
        })
      }
      if (step.index > MAX_INDEX) {
        throw kvError('kv_value_too_large', `Cannot set ${path.shown}: index ${step.key} would make the array larger than the ${MAX_VALUE_BYTES}-byte limit.`, {
          details: { max_bytes: MAX_VALUE_BYTES },
        })
      }
      const child = last ? value : place(container[step.index], i + 1)
      while (container.length < step.index) container.push(null)
      container[step.index] = child
      return container
    }
    const child = last ? value : place(Object.hasOwn(container, step.key) ? container[step.key] : undefined, i + 1)
    defineEntry(container, step.key, child)
    return container
  }
  return place(root === undefined ? {} : root, 0)
}

/** The place before step `i`, for messages: "the stored value", or the parts walked so far. */
function describeAt(path: Path, i: number): string {
  if (i === 0) return 'the stored value'
  const parts = path.steps.slice(0, i).map((step) => step.key)
  return path.dotted ? `"${parts.join('.')}"` : JSON.stringify(parts)
}

function invalidPath(shown: string, problem: string) {
  return kvError('kv_invalid_path', `The path ${shown} is not valid: ${problem}.`)
}

function describeInput(path: unknown): string {
  try {
    return JSON.stringify(path) ?? String(path)
  } catch {
    return String(path)
  }
}
