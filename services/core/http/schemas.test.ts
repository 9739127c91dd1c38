import fastJsonStringify from 'fast-json-stringify'
import { Type } from 'typebox'
import { describe, expect, it } from 'vitest'
import { Nullable, StringEnum } from './schemas.js'

const Body = Type.Object({
  text: Nullable(Type.String()),
  count: Nullable(Type.Integer()),
  kind: Nullable(StringEnum(['a', 'b'])),
  state: StringEnum(['up', 'down']),
  detail: Nullable(Type.Object({ code: Type.String(), at: Nullable(Type.String()) })),
})

describe('response schema helpers', () => {
  const serialize = fastJsonStringify(Body as object)

  it('serializes a nullable field as null or as its value, like JSON.stringify', () => {
    for (const body of [
      { text: null, count: null, kind: null, state: 'up', detail: null },
      { text: 'x "quoted"', count: 3, kind: 'b', state: 'down', detail: { code: 'e', at: null } },
      { text: '', count: 0, kind: 'a', state: 'up', detail: { code: '', at: '2026-11-22T00:00:00.000Z' } },
    ]) {
      expect(JSON.parse(serialize(body))).toEqual(body)
    }
  })

  it('describes the same values as a union with null would', () => {
    expect(Nullable(Type.String({ description: 'd' }))).toMatchObject({ type: ['string', 'null'], description: 'd' })
    expect(Nullable(StringEnum(['a', 'b']))).toMatchObject({ type: ['string', 'null'], enum: ['a', 'b', null] })
    // A literal's const would exclude null: it becomes an enum that admits it.
    const literal = Nullable(Type.Literal('postgresql'))
    expect(literal).toMatchObject({ type: ['string', 'null'], enum: ['postgresql', null] })
    expect(literal).not.toHaveProperty('const')
    expect(StringEnum(['up', 'down'], { description: 'state' })).toMatchObject({ type: 'string', enum: ['up', 'down'], description: 'state' })
  })

  it('refuses a schema without one type, which it could not express', () => {
    expect(() => Nullable(Type.Union([Type.String(), Type.Integer()]))).toThrow(/one type/)
  })
})
