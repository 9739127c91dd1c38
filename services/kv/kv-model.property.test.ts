import { randomUUID } from 'node:crypto'
import fc from 'fast-check'
import { expect, it } from 'vitest'
import { describeEachKind } from '../../test/helpers/database-kinds.js'
import type { JsonValue } from './json-value.js'

/*
 * A reference model of the KV rules, written from the issue rather than from path.ts: values are
 * JSON; a path set starts a missing key from {}; in a dot path all-digit parts create arrays
 * (gaps filled with null), in an array path every part creates an object; a scalar in the way is
 * replaced by the needed container; an existing array takes all-digit parts only (else
 * kv_path_conflict, nothing changed); list is byte-ordered.
 */
type Outcome = { ok: unknown } | { error: string }
type Path = { dotted: boolean; parts: string[] }

const isDigits = (part: string) => /^[0-9]+$/.test(part)
const isObject = (value: unknown): value is Record<string, JsonValue> => typeof value === 'object' && value !== null && !Array.isArray(value)
// What a JSON round trip gives (-0 as 0, plain objects), built by hand: Node 24's JSON.parse can
// misread escaped names such as "\u0001" as "\\" (see json-text.ts), which made the model wrong.
const clone = (value: unknown): JsonValue =>
  Array.isArray(value) ? value.map(clone) : isObject(value) ? Object.fromEntries(Object.entries(value).map(([name, item]) => [name, clone(item)])) : value === 0 ? 0 : (value as JsonValue)
const withEntry = (object: Record<string, JsonValue>, name: string, value: JsonValue) =>
  Object.fromEntries([...Object.entries(object).filter(([n]) => n !== name), [name, value]]) as Record<string, JsonValue>

class PathConflict extends Error {}

function assign(node: JsonValue | undefined, path: Path, i: number, value: JsonValue): JsonValue {
  const part = path.parts[i]!
  const child = (existing: JsonValue | undefined) => (i === path.parts.length - 1 ? value : assign(existing, path, i + 1, value))
  if (Array.isArray(node)) {
    if (!isDigits(part)) throw new PathConflict()
    const index = Number(part)
    const copy = [...node]
    const replaced = child(copy[index])
    while (copy.length < index) copy.push(null)
    copy[index] = replaced
    return copy
  }
  if (isObject(node)) return withEntry(node, part, child(Object.hasOwn(node, part) ? node[part] : undefined))
  return assign(path.dotted && isDigits(part) ? [] : {}, path, i, value)
}

function lookup(node: JsonValue, parts: string[]): { found: boolean; value?: JsonValue } {
  let current = node
  for (const part of parts) {
    if (Array.isArray(current) && isDigits(part) && Number(part) < current.length) current = current[Number(part)]!
    else if (isObject(current) && Object.hasOwn(current, part)) current = current[part]!
    else return { found: false }
  }
  return { found: true, value: current }
}

class Model {
  readonly store = new Map<string, JsonValue>()

  set(key: string, value: JsonValue, path?: Path): Outcome {
    if (!path) this.store.set(key, clone(value))
    else {
      try {
        this.store.set(key, assign(this.store.has(key) ? this.store.get(key)! : {}, path, 0, clone(value)))
      } catch (error) {
        if (error instanceof PathConflict) return { error: 'kv_path_conflict' }
        throw error
      }
    }
    return { ok: this.store.get(key) }
  }

  get(key: string, path?: Path): Outcome {
    if (!this.store.has(key)) return { error: 'kv_not_found' }
    const found = lookup(this.store.get(key)!, path?.parts ?? [])
    return found.found ? { ok: found.value } : { error: 'kv_not_found' }
  }

  delete(key: string): Outcome {
    return this.store.delete(key) ? { ok: undefined } : { error: 'kv_not_found' }
  }

  list(prefix: string, limit: number): Outcome {
    const keys = [...this.store.keys()].filter((k) => k.startsWith(prefix)).sort((a, b) => Buffer.compare(Buffer.from(a), Buffer.from(b)))
    return { ok: { keys: keys.slice(0, limit), more: keys.length > limit } }
  }
}

// Small pools make operations collide on the same keys, names and indexes.
const KEYS = ['a', 'ab', 'a/b', 'B', 'é', '😀', 'x y', 'k\u0001']
const PARTS = ['a', 'b', '0', '1', '3', '007', '__proto__', 'n\u0000', '\u0001', '\u00010']
const text = fc.string({ unit: fc.constantFrom('a', 'b', '0', '.', 'é', '😀', '"', '\\', '\u0000', '\u0001'), maxLength: 6 })
const { json } = fc.letrec<{ json: JsonValue }>((tie) => ({
  json: fc.oneof(
    { depthSize: 'small', withCrossShrink: true },
    fc.constant(null),
    fc.boolean(),
    fc.integer({ min: -1000, max: 1000 }),
    fc.double({ noNaN: true, noDefaultInfinity: true }),
    text,
    fc.array(tie('json'), { maxLength: 4 }),
    fc.dictionary(fc.oneof(text, fc.constantFrom(...PARTS)), tie('json'), { maxKeys: 4 }),
  ),
}))
const path: fc.Arbitrary<Path> = fc.oneof(
  fc.array(fc.constantFrom(...PARTS), { minLength: 1, maxLength: 4 }).map((parts) => ({ dotted: true, parts })),
  fc.array(fc.constantFrom(...PARTS, '', 'x.y'), { minLength: 1, maxLength: 4 }).map((parts) => ({ dotted: false, parts })),
)
const key = fc.constantFrom(...KEYS)
type Op =
  | { op: 'set'; key: string; value: JsonValue; path?: Path }
  | { op: 'get'; key: string; path?: Path }
  | { op: 'delete'; key: string }
  | { op: 'list'; prefix: string; limit: number }
const op: fc.Arbitrary<Op> = fc.oneof(
  { arbitrary: fc.record({ op: fc.constant('set' as const), key, value: json }), weight: 2 },
  { arbitrary: fc.record({ op: fc.constant('set' as const), key, value: json, path }), weight: 5 },
  { arbitrary: fc.record({ op: fc.constant('get' as const), key }), weight: 1 },
  { arbitrary: fc.record({ op: fc.constant('get' as const), key, path }), weight: 4 },
  { arbitrary: fc.record({ op: fc.constant('delete' as const), key }), weight: 1 },
  { arbitrary: fc.record({ op: fc.constant('list' as const), prefix: fc.constantFrom('', 'a', 'é'), limit: fc.constantFrom(1, 2, 1000) }), weight: 1 },
)

const pathArgument = (p?: Path) => (p ? (p.dotted ? p.parts.join('.') : p.parts) : undefined)

async function outcome(run: () => Promise<unknown>): Promise<Outcome> {
  try {
    return { ok: await run() }
  } catch (error) {
    const code = (error as { code?: unknown }).code
    if (typeof code !== 'string' || !code.startsWith('kv_')) throw error
    return { error: code }
  }
}

describeEachKind('the KV service against a reference model', (_kind, app) => {
  it('agrees on long random sequences of get, set (both path forms), delete and list', async () => {
    const kv = app().app.kv
    await fc.assert(
      fc.asyncProperty(fc.array(op, { minLength: 20, maxLength: 80 }), async (ops) => {
        const ns = `prop/${randomUUID()}/`
        const model = new Model()
        for (const o of ops) {
          let actual: Outcome
          let expected: Outcome
          if (o.op === 'set') {
            expected = model.set(o.key, o.value, o.path)
            actual = await outcome(() => kv.set(ns + o.key, o.value, pathArgument(o.path)))
          } else if (o.op === 'get') {
            expected = model.get(o.key, o.path)
            actual = await outcome(() => kv.get(ns + o.key, pathArgument(o.path)))
          } else if (o.op === 'delete') {
            expected = model.delete(o.key)
            actual = await outcome(() => kv.delete(ns + o.key))
          } else {
            expected = model.list(o.prefix, o.limit)
            actual = await outcome(async () => {
              const page = await kv.list({ prefix: ns + o.prefix, limit: o.limit })
              return { keys: page.keys.map((k) => k.slice(ns.length)), more: page.nextCursor !== null }
            })
          }
          expect(actual, JSON.stringify(o)).toEqual(expected)
        }
        // And what is stored at the end, key by key.
        for (const k of KEYS) expect(await outcome(() => kv.get(ns + k))).toEqual(model.get(k))
      }),
      { numRuns: 30 },
    )
  }, 120_000)
})
