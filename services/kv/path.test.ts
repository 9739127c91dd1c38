import { describe, expect, it } from 'vitest'
import type { JsonValue } from './json-value.js'
import { parsePath, readAt, writeAt, type PathInput } from './path.js'

const write = (root: JsonValue | undefined, path: PathInput, value: JsonValue) => writeAt(structuredClone(root), parsePath(path), value)

describe('writing at a path', () => {
  it('merges into the stored object (the seed example)', () => {
    expect(write({ a: 1, b: { _b: 2 } }, 'b._b', 5)).toEqual({ a: 1, b: { _b: 5 } })
  })

  it('creates an array for an all-digit part of a dot path and fills the gap with null', () => {
    expect(write({ a: 1 }, 'b.5', 5)).toEqual({ a: 1, b: [null, null, null, null, null, 5] })
  })

  it('creates objects for every part of an array path, digits included', () => {
    expect(write({ a: 1 }, ['b', '5'], 5)).toEqual({ a: 1, b: { '5': 5 } })
  })

  it('starts a missing key from {} even when the first part is all digits', () => {
    expect(write(undefined, '0', 'x')).toEqual({ '0': 'x' })
    expect(write(undefined, 'a.0.b', true)).toEqual({ a: [{ b: true }] })
  })

  it('replaces a scalar or null in the way with the container the path needs', () => {
    expect(write({ a: 'text' }, 'a.b', 1)).toEqual({ a: { b: 1 } })
    expect(write({ a: null }, 'a.1', 1)).toEqual({ a: [null, 1] })
    expect(write(7, 'x', 1)).toEqual({ x: 1 })
    expect(write('root', '2', 1)).toEqual([null, null, 1])
  })

  it('indexes an existing array with an all-digit part of either form', () => {
    expect(write({ b: [1, 2, 3] }, ['b', '1'], 'two')).toEqual({ b: [1, 'two', 3] })
    expect(write({ b: [1] }, 'b.3', 4)).toEqual({ b: [1, null, null, 4] })
    expect(write({ b: [1] }, 'b.007', 4)).toEqual({ b: [1, null, null, null, null, null, null, 4] })
  })

  it('writes a digit name into an existing object as a name', () => {
    expect(write({ b: { x: 1 } }, 'b.5', 5)).toEqual({ b: { x: 1, '5': 5 } })
  })

  it('refuses a named part inside an existing array, changing nothing', () => {
    const root = { b: [1, 2] }
    const before = structuredClone(root)
    expect(() => writeAt(root, parsePath('b.x.y'), 1)).toThrow(expect.objectContaining({ code: 'kv_path_conflict' }))
    expect(() => writeAt(root, parsePath(['b', 'x']), 1)).toThrow(expect.objectContaining({ code: 'kv_path_conflict' }))
    expect(root).toEqual(before)
  })

  it('keeps a name like __proto__ as data, never as a prototype', () => {
    const result = write({}, ['__proto__', 'polluted'], true) as Record<string, JsonValue>
    expect(Object.keys(result)).toEqual(['__proto__'])
    expect(JSON.stringify(result)).toBe('{"__proto__":{"polluted":true}}')
    expect(({} as Record<string, unknown>).polluted).toBeUndefined()
  })

  it('refuses an index whose array could never fit the size limit, before allocating it', () => {
    expect(() => write({}, 'a.99999999999', 1)).toThrow(expect.objectContaining({ code: 'kv_value_too_large' }))
  })
})

describe('reading at a path', () => {
  const value = { a: { b: [10, { c: null }] }, 'x.y': 1, '': 2 }

  it('follows names and indexes, and finds a stored null', () => {
    expect(readAt(value, parsePath('a.b.0'))).toEqual({ found: true, value: 10 })
    expect(readAt(value, parsePath(['a', 'b', '1', 'c']))).toEqual({ found: true, value: null })
    expect(readAt(value, parsePath(['x.y']))).toEqual({ found: true, value: 1 })
    expect(readAt(value, parsePath(['']))).toEqual({ found: true, value: 2 })
  })

  it('says which part is missing', () => {
    expect(readAt(value, parsePath('a.z'))).toEqual({ found: false, missing: '"a" has no "z"' })
    expect(readAt(value, parsePath('a.b.2'))).toMatchObject({ found: false, missing: expect.stringContaining('array of 2 item(s)') })
    expect(readAt(value, parsePath('a.b.first'))).toMatchObject({ found: false })
    expect(readAt(value, parsePath('a.b.0.x'))).toMatchObject({ found: false, missing: '"a.b.0" is a number, which has no "x"' })
    expect(readAt(value, parsePath('toString'))).toMatchObject({ found: false })
  })
})

describe('parsing a path', () => {
  it.each([[''], ['a..b'], ['.a'], ['a.'], [[]], ['\ud800']])('refuses %j', (path) => {
    expect(() => parsePath(path as PathInput)).toThrow(expect.objectContaining({ code: 'kv_invalid_path' }))
  })
})
