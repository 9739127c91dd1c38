import { describe, expect, it } from 'vitest'
import { MAX_DEPTH, toJsonValue } from './json-value.js'
import { decodeString, encodeString, fromStoredText, toStoredText } from './nul-escape.js'

describe('what counts as JSON', () => {
  it('copies plain JSON, applying toJSON and turning -0 into 0', () => {
    const date = new Date('2024-01-02T03:04:05.000Z')
    expect(toJsonValue({ a: [1, 'x', null, true], d: date, z: -0 })).toEqual({ a: [1, 'x', null, true], d: '2024-01-02T03:04:05.000Z', z: 0 })
    expect(Object.is(toJsonValue(-0), 0)).toBe(true)
  })

  it.each([
    ['undefined', undefined, 'value is undefined'],
    ['a nested undefined', { a: { b: undefined } }, 'value.a.b is undefined'],
    ['an undefined array item', [1, undefined], 'value[1] is undefined'],
    ['a function', { f: () => 1 }, 'value.f is a function'],
    ['a BigInt', { n: 10n }, 'value.n is a BigInt'],
    ['NaN', [NaN], 'value[0] is NaN'],
    ['Infinity', { 'odd key': Infinity }, 'value["odd key"] is Infinity'],
    ['a symbol', Symbol('s'), 'value is a symbol'],
    ['a Map', new Map(), 'value is a Map'],
    ['a sparse array', [1, , 3], 'value[1] is a hole'], // eslint-disable-line no-sparse-arrays
    ['an invalid Date', new Date(NaN), 'value is an invalid Date'],
    ['a lone surrogate', 'a\ud800', 'value is a string with a lone UTF-16 surrogate'],
  ])('refuses %s, saying where', (_, value, where) => {
    expect(() => toJsonValue(value)).toThrow(expect.objectContaining({ code: 'kv_invalid_value', message: expect.stringContaining(where) }))
  })

  it('refuses a circular structure but accepts a shared one', () => {
    const shared = { x: 1 }
    expect(toJsonValue({ a: shared, b: [shared] })).toEqual({ a: { x: 1 }, b: [{ x: 1 }] })
    const loop: Record<string, unknown> = { a: {} }
    ;(loop.a as Record<string, unknown>).back = loop
    expect(() => toJsonValue(loop)).toThrow(expect.objectContaining({ code: 'kv_invalid_value', message: expect.stringContaining('value.a.back is a circular reference') }))
  })

  it(`refuses nesting deeper than ${MAX_DEPTH} levels`, () => {
    let deep: unknown = 1
    for (let i = 0; i < MAX_DEPTH; i++) deep = [deep]
    expect(() => toJsonValue(deep)).not.toThrow()
    expect(() => toJsonValue([deep])).toThrow(expect.objectContaining({ code: 'kv_invalid_value', message: expect.stringContaining('nested more than') }))
  })
})

describe('the stored form of U+0000', () => {
  it('round-trips any mix of U+0000, the marker U+0001 and the digit 0', () => {
    for (const text of ['', '\u0000', '\u0001', '\u00010', '\u0001\u0001', '0\u0000\u00010\u0001\u0000\u0001', 'plain']) {
      expect(decodeString(encodeString(text))).toBe(text)
      expect(encodeString(text)).not.toContain('\u0000')
    }
  })

  it('leaves values without either character untouched and escapes names too', () => {
    const plain = { a: 'b' }
    expect(toStoredText(plain, JSON.stringify(plain))).toBe('{"a":"b"}')
    const odd = { 'k\u0000': ['v\u0000', '\u0001'] }
    const stored = toStoredText(odd, JSON.stringify(odd))
    expect(stored).not.toContain('\\u0000')
    expect(fromStoredText(stored)).toEqual(odd)
  })
})
