import { afterAll, beforeAll, expect, it } from 'vitest'
import { describeOnKind } from '../../test/helpers/app.js'
import { openCountedDatabase, type CountedDatabase } from '../../test/helpers/counted-database.js'
import { MAX_VALUE_BYTES, type JsonValue } from './json-value.js'
import { parsePath, writeAt, type PathInput } from './path.js'
import { KvService } from './service.js'

/*
 * A path write runs as one UPDATE with jsonb_set when the container it writes into is already
 * there, and the JavaScript way (lock, writeAt, update) otherwise. Each case checks the stored
 * value against writeAt's and which way it went, by the statements Drizzle sent.
 */
for (const kind of ['pglite', 'postgresql'] as const) {
  describeOnKind(kind)(`path writes on ${kind}`, () => {
    let database: CountedDatabase
    let kv: KvService
    let n = 0
    beforeAll(async () => {
      database = await openCountedDatabase(kind)
      kv = new KvService(() => database.db)
    })
    afterAll(() => database.close())

    /** Stores `before`, writes `value` at `path`; returns the result, what writeAt gives, and the statements of the write. */
    async function write(before: JsonValue, path: PathInput, value: JsonValue) {
      const key = `in-place/${n++}`
      await kv.set(key, before)
      database.statements.length = 0
      const result = await kv.set(key, value, path)
      const statements = database.statements.map((text) => text.split(' ')[0])
      return { result, stored: await kv.get(key), expected: writeAt(structuredClone(before), parsePath(path), value), statements }
    }

    it.each<[string, JsonValue, PathInput, JsonValue]>([
      ['a name in an existing object', { a: 1, b: { _b: 2 } }, 'b._b', 5],
      ['a new name in an existing object', { a: 1, b: {} }, 'b.c', { deep: [1, 'two'] }],
      ['a name at the top', { a: 1 }, 'z', null],
      ['an index inside an existing array', { list: [1, 2, 3] }, 'list.1', 'two'],
      ['an index of the array form', { list: [1, 2, 3] }, ['list', '2'], { x: true }],
      ['leading zeros as an index', { list: [1, 2, 3] }, 'list.01', 9],
      ['a digit name in an object', { b: { x: 1 } }, 'b.5', 5],
      ['names an array literal would have to quote', { 'a,b"c\\d{}': { NULL: 1 } }, ['a,b"c\\d{}', 'NULL'], 'kept'],
      ['empty and spaced names', { '': { ' spaced ': 0 } }, ['', ' spaced '], [null]],
      ['__proto__ as data', JSON.parse('{"__proto__":1}') as JsonValue, ['__proto__'], { polluted: true }],
      ['Unicode names and values', { 'clé 中文': {} }, ['clé 中文', '😀'], '\u2028 "quoted" \\'],
      ['a value holding U+0000', { a: {} }, 'a.b', 'nul \u0000 and mark \u0001'],
      ['a digit name too large for any array, in an object', { a: {} }, 'a.99999999999', 1],
    ])('writes %s in one statement', async (_, before, path, value) => {
      const { result, stored, expected, statements } = await write(before, path, value)
      expect(result).toEqual(expected)
      expect(stored).toEqual(expected)
      expect(statements).toEqual(['update'])
    })

    it.each<[string, JsonValue, PathInput, JsonValue]>([
      ['containers to create', { a: 1 }, 'b.c.d', 1],
      ['an array to pad', { list: [1] }, 'list.3', 4],
      ['a scalar in the way', { a: 'text' }, 'a.b', 1],
      ['a scalar at the top', 7, 'x', 1],
      ['a name holding U+0001, stored escaped', { 'a\u0001': {} }, ['a\u0001', 'b'], 1],
    ])('writes past %s the JavaScript way, with the same result', async (_, before, path, value) => {
      const { result, stored, expected, statements } = await write(before, path, value)
      expect(result).toEqual(expected)
      expect(stored).toEqual(expected)
      expect(statements.length).toBeGreaterThan(1)
      // At most the one-statement attempt, then the locked write's own update: never the attempt twice.
      expect(statements.filter((statement) => statement === 'update').length).toBeLessThanOrEqual(2)
    })

    it('refuses a named part inside an existing array with kv_path_conflict and changes nothing', async () => {
      const key = `in-place/${n++}`
      await kv.set(key, { list: [1, 2] })
      await expect(kv.set(key, 1, 'list.name')).rejects.toMatchObject({ code: 'kv_path_conflict' })
      await expect(kv.set(key, 1, 'list.99999999999')).rejects.toMatchObject({ code: 'kv_value_too_large' })
      expect(await kv.get(key)).toEqual({ list: [1, 2] })
    })

    it('measures the limit exactly: jsonb prints more than JSON.stringify, so a result at the limit goes the exact way', async () => {
      // {"a":"xx…x","b":0} as compact JSON is exactly the limit; jsonb prints it with spaces.
      const filler = 'x'.repeat(MAX_VALUE_BYTES - '{"a":"","b":0}'.length)
      const { stored, statements } = await write({ a: filler, b: 1 }, 'b', 0)
      expect(stored).toEqual({ a: filler, b: 0 })
      expect(statements.length).toBeGreaterThan(1)
      const key = `in-place/${n++}`
      await kv.set(key, { a: filler, b: 1 })
      await expect(kv.set(key, 10, 'b')).rejects.toMatchObject({ code: 'kv_value_too_large', details: { bytes: MAX_VALUE_BYTES + 1 } })
      expect(await kv.get(key, 'b')).toBe(1)
    })

    it("keeps a caller's transaction usable when the write inside it fails", async () => {
      const key = `in-place/${n++}`
      await database.db.transaction(async (tx) => {
        await kv.set(key, { list: [] }, undefined, tx)
        await expect(kv.set(key, 1, 'list.x', tx)).rejects.toMatchObject({ code: 'kv_path_conflict' })
        await kv.set(key, { in: 'place' }, 'obj', tx)
        await kv.set(key, 1, 'list.0', tx)
      })
      expect(await kv.get(key)).toEqual({ list: [1], obj: { in: 'place' } })
    })
  })
}
