import { randomUUID } from 'node:crypto'
import { eq, sql } from 'drizzle-orm'
import { describe, expect, it } from 'vitest'
import { describeEachKind } from '../../test/helpers/database-kinds.js'
import { rowsOf } from '../database/results.js'
import { MAX_VALUE_BYTES } from './json-value.js'
import { kvEntries } from './schema.js'

const code = (c: string) => expect.objectContaining({ code: c })

describeEachKind('the KV service', (kind, app) => {
  const kv = () => app().app.kv
  const key = () => `test/${randomUUID()}`
  const storedText = async (k: string) => rowsOf<{ t: string }>(await app().app.getDb().execute(sql`select value::text as t from kv_entries where key = ${k}`))[0]?.t

  describe('whole values', () => {
    it.each([
      ['an object', { name: 'Sylvain', nested: { list: [1, 2.5, -3e-7, 'x', null, true, false, {}] } }],
      ['an array', [1, [2, [3]], { a: [] }]],
      ['a string', 'version 1.0'],
      ['a number', 1962],
      ['null', null],
      ['false', false],
      ['Unicode', { 'clé ü 中文 😀': 'valeur 😀 \u2028 "quoted" \\ back' }],
    ])('stores and returns %s', async (_, value) => {
      const k = key()
      expect(await kv().set(k, value)).toEqual(value)
      expect(await kv().get(k)).toEqual(value)
    })

    it('replaces the whole value when there is no path', async () => {
      const k = key()
      await kv().set(k, { a: 1, b: { c: 2 } })
      expect(await kv().set(k, { z: 1 })).toEqual({ z: 1 })
      expect(await kv().get(k)).toEqual({ z: 1 })
    })

    it('stores a Date as its ISO text, as JSON does', async () => {
      const k = key()
      expect(await kv().set(k, new Date('2024-05-06T07:08:09.000Z'))).toBe('2024-05-06T07:08:09.000Z')
    })

    it('keeps a "__proto__" name as data', async () => {
      const k = key()
      const value = JSON.parse('{"__proto__": {"admin": true}, "a": 1}')
      const back = (await kv().set(k, value)) as Record<string, unknown>
      expect(Object.keys(back).sort()).toEqual(['__proto__', 'a'])
      expect(Object.getPrototypeOf(back)).toBe(Object.prototype)
      expect(await kv().get(k, ['__proto__', 'admin'])).toBe(true)
    })

    it('keeps created_at and moves updated_at on a replace', async () => {
      const k = key()
      await kv().set(k, 1)
      const [first] = await app().app.getDb().select().from(kvEntries).where(eq(kvEntries.key, k))
      await kv().set(k, 2)
      const [second] = await app().app.getDb().select().from(kvEntries).where(eq(kvEntries.key, k))
      expect(second!.createdAt).toEqual(first!.createdAt)
      expect(second!.updatedAt.getTime()).toBeGreaterThanOrEqual(first!.updatedAt.getTime())
    })
  })

  describe('paths', () => {
    it('reads inside the value (the seed example)', async () => {
      const k = key()
      await kv().set(k, { role: 'Admin', name: 'Perron', first_name: 'Sylvain', list: [{ x: null }] })
      expect(await kv().get(k, 'role')).toBe('Admin')
      expect(await kv().get(k, 'list.0.x')).toBeNull()
      expect(await kv().get(k, ['list', '0'])).toEqual({ x: null })
    })

    it('merges a path set and returns the whole value (the seed examples, with the right number of nulls)', async () => {
      const k = key()
      await kv().set(k, { a: 1, b: { _b: 2 } })
      expect(await kv().set(k, 5, 'b._b')).toEqual({ a: 1, b: { _b: 5 } })
      await kv().set(k, { a: 1 })
      expect(await kv().set(k, 5, 'b.5')).toEqual({ a: 1, b: [null, null, null, null, null, 5] })
      await kv().set(k, { a: 1 })
      expect(await kv().set(k, 5, ['b', '5'])).toEqual({ a: 1, b: { '5': 5 } })
      expect(await kv().get(k)).toEqual({ a: 1, b: { '5': 5 } })
    })

    it('starts a missing key from {}', async () => {
      const k = key()
      expect(await kv().set(k, 'x', 'a.b')).toEqual({ a: { b: 'x' } })
      const other = key()
      expect(await kv().set(other, 'x', '0')).toEqual({ '0': 'x' })
    })

    it('replaces a scalar in the way with the container the path needs', async () => {
      const k = key()
      await kv().set(k, { a: 'text', n: 3 })
      expect(await kv().set(k, 1, 'a.b')).toEqual({ a: { b: 1 }, n: 3 })
      expect(await kv().set(k, 1, 'n.1')).toEqual({ a: { b: 1 }, n: [null, 1] })
    })

    it('refuses a named part inside an existing array with kv_path_conflict and changes nothing', async () => {
      const k = key()
      await kv().set(k, { list: [1, 2] })
      await expect(kv().set(k, 1, 'list.name')).rejects.toThrow(code('kv_path_conflict'))
      await expect(kv().set(k, 1, ['list', 'name', 'deeper'])).rejects.toThrow(code('kv_path_conflict'))
      expect(await kv().get(k)).toEqual({ list: [1, 2] })
    })

    it('leaves no key behind when the first path set of a missing key fails', async () => {
      const k = key()
      await expect(kv().set(k, { big: 'x'.repeat(MAX_VALUE_BYTES) }, 'a')).rejects.toThrow(code('kv_value_too_large'))
      await expect(kv().get(k)).rejects.toThrow(code('kv_not_found'))
    })

    it('tells a missing key from a missing path (both kv_not_found)', async () => {
      const k = key()
      await expect(kv().get(k)).rejects.toThrow(expect.objectContaining({ code: 'kv_not_found', message: expect.stringContaining('No value is stored under the key') }))
      await kv().set(k, { a: { b: [1] } })
      await expect(kv().get(k, 'a.c')).rejects.toThrow(expect.objectContaining({ code: 'kv_not_found', message: expect.stringContaining('has nothing at the path "a.c": "a" has no "c"') }))
      await expect(kv().get(k, 'a.b.1')).rejects.toThrow(code('kv_not_found'))
      await expect(kv().get(k, 'a.b.x')).rejects.toThrow(code('kv_not_found'))
    })

    it('refuses malformed paths with kv_invalid_path', async () => {
      const k = key()
      await kv().set(k, {})
      await expect(kv().get(k, 'a..b')).rejects.toThrow(code('kv_invalid_path'))
      await expect(kv().set(k, 1, [])).rejects.toThrow(code('kv_invalid_path'))
      expect(await kv().get(k)).toEqual({})
    })
  })

  describe('values JSON cannot hold', () => {
    const circular: Record<string, unknown> = {}
    circular.self = circular
    it.each([
      ['circular', circular],
      ['undefined', undefined],
      ['a function', () => 1],
      ['a BigInt', 1n],
      ['NaN', NaN],
      ['a nested undefined', { a: undefined }],
    ])('refuses %s with kv_invalid_value and stores nothing', async (_, value) => {
      const k = key()
      await kv().set(k, 'before')
      await expect(kv().set(k, value)).rejects.toThrow(code('kv_invalid_value'))
      await expect(kv().set(k, value, 'a')).rejects.toThrow(code('kv_invalid_value'))
      expect(await kv().get(k)).toBe('before')
    })
  })

  describe('U+0000', () => {
    it('round-trips in strings and names, with the marker character beside it', async () => {
      const k = key()
      const value = { 'nul\u0000name': ['a\u0000b', '\u0001', '\u00010', '\u0000\u0001\u0000'], plain: 'ok' }
      expect(await kv().set(k, value)).toEqual(value)
      expect(await kv().get(k)).toEqual(value)
      expect(await kv().get(k, ['nul\u0000name', '0'])).toBe('a\u0000b')
      expect(await kv().set(k, 'z\u0000', ['nul\u0000name', '4'])).toEqual({ ...value, 'nul\u0000name': [...value['nul\u0000name'], 'z\u0000'] })
      // What PostgreSQL holds has no U+0000, and plain text is stored as given.
      expect(await storedText(k)).not.toContain('\\u0000')
      expect(await storedText(k)).toContain('"plain": "ok"')
    })
  })

  describe('keys', () => {
    it('accepts 1 to 512 bytes of UTF-8 and any characters but U+0000', async () => {
      for (const k of ['a', '😀'.repeat(128), 'é'.repeat(256), 'users/id/002485', ' spaced / slashed ? # % + '] as const) {
        await kv().set(k, k)
        expect(await kv().get(k)).toBe(k)
      }
    })

    it.each([
      ['empty', ''],
      ['513 bytes', 'a'.repeat(511) + 'é'],
      ['with U+0000', 'a\u0000b'],
      ['with a lone surrogate', 'a\udc00'],
    ])('refuses a key %s with kv_invalid_key', async (_, k) => {
      await expect(kv().set(k, 1)).rejects.toThrow(code('kv_invalid_key'))
      await expect(kv().get(k)).rejects.toThrow(code('kv_invalid_key'))
    })
  })

  describe('size', () => {
    const sized = (bytes: number) => 'x'.repeat(bytes - 2) // a JSON string adds its two quotes

    it('stores a value of exactly 1 MiB and refuses one byte more with kv_value_too_large', async () => {
      const k = key()
      expect(await kv().set(k, sized(MAX_VALUE_BYTES))).toHaveLength(MAX_VALUE_BYTES - 2)
      await expect(kv().set(k, sized(MAX_VALUE_BYTES + 1))).rejects.toThrow(expect.objectContaining({ code: 'kv_value_too_large', details: { bytes: MAX_VALUE_BYTES + 1, max_bytes: MAX_VALUE_BYTES } }))
      // UTF-8 bytes count, not characters: 'é' is two.
      await expect(kv().set(k, 'é'.repeat(MAX_VALUE_BYTES / 2))).rejects.toThrow(code('kv_value_too_large'))
    })

    it('measures the whole value after a path set, and keeps the old one when it is too large', async () => {
      const k = key()
      await kv().set(k, { a: sized(MAX_VALUE_BYTES - 100) })
      await expect(kv().set(k, 'y'.repeat(100), 'b')).rejects.toThrow(code('kv_value_too_large'))
      expect(((await kv().get(k)) as { a: string }).a).toHaveLength(MAX_VALUE_BYTES - 102)
      await expect(kv().get(k, 'b')).rejects.toThrow(code('kv_not_found'))
    })
  })

  describe('delete', () => {
    it('removes a key, then says kv_not_found', async () => {
      const k = key()
      await kv().set(k, 1)
      await kv().delete(k)
      await expect(kv().get(k)).rejects.toThrow(code('kv_not_found'))
      await expect(kv().delete(k)).rejects.toThrow(code('kv_not_found'))
    })
  })

  describe('list', () => {
    it('pages through keys in byte order with an opaque cursor, ending with null', async () => {
      const p = `list-${randomUUID()}/`
      const names = ['B', 'a', 'a/b', 'a b', 'é', '中', '😀', 'z', '~', '0']
      for (const name of names) await kv().set(p + name, 1)
      const expected = names.map((n) => p + n).sort((x, y) => Buffer.compare(Buffer.from(x), Buffer.from(y)))
      const seen: string[] = []
      let cursor: string | null = null
      let pages = 0
      do {
        const page: { keys: string[]; nextCursor: string | null } = await kv().list({ prefix: p, limit: 3, cursor })
        expect(page.keys.length).toBeLessThanOrEqual(3)
        seen.push(...page.keys)
        cursor = page.nextCursor
        pages++
      } while (cursor)
      expect(seen).toEqual(expected)
      expect(pages).toBe(4)
      expect(await kv().list({ prefix: p, limit: 10 })).toEqual({ keys: expected, nextCursor: null })
    })

    it('matches the prefix literally: %, _ and \\ are not wildcards', async () => {
      const p = `lit-${randomUUID()}/`
      for (const name of ['100%', '100x', 'a_b', 'axb', 'c\\d', 'c\\\\d']) await kv().set(p + name, 1)
      expect((await kv().list({ prefix: `${p}100%` })).keys).toEqual([`${p}100%`])
      expect((await kv().list({ prefix: `${p}a_` })).keys).toEqual([`${p}a_b`])
      expect((await kv().list({ prefix: `${p}c\\d` })).keys).toEqual([`${p}c\\d`])
    })

    it('answers an empty page for a prefix no key can have', async () => {
      expect(await kv().list({ prefix: 'a\u0000' })).toEqual({ keys: [], nextCursor: null })
      expect(await kv().list({ prefix: 'x'.repeat(513) })).toEqual({ keys: [], nextCursor: null })
    })

    it('refuses a bad limit or a cursor it did not make', async () => {
      await expect(kv().list({ limit: 0 })).rejects.toThrow(code('kv_invalid_limit'))
      await expect(kv().list({ limit: 1001 })).rejects.toThrow(code('kv_invalid_limit'))
      await expect(kv().list({ limit: 1.5 })).rejects.toThrow(code('kv_invalid_limit'))
      await expect(kv().list({ cursor: '!!!' })).rejects.toThrow(code('kv_invalid_cursor'))
      await expect(kv().list({ cursor: 'YQ=' })).rejects.toThrow(code('kv_invalid_cursor'))
      // Well-formed base64url, but of text no key can hold: refused, never sent to PostgreSQL.
      await expect(kv().list({ cursor: Buffer.from('a\u0000').toString('base64url') })).rejects.toThrow(code('kv_invalid_cursor'))
      await expect(kv().list({ cursor: Buffer.from([0xff, 0x61]).toString('base64url') })).rejects.toThrow(code('kv_invalid_cursor'))
    })

    it('defaults to 100 keys a page and allows up to 1000', async () => {
      const p = `many-${randomUUID()}/`
      await app().app.getDb().insert(kvEntries).values(Array.from({ length: 1001 }, (_, i) => ({ key: `${p}${String(i).padStart(4, '0')}`, value: i })))
      const first = await kv().list({ prefix: p })
      expect(first.keys).toHaveLength(100)
      expect(first.keys[0]).toBe(`${p}0000`)
      const big = await kv().list({ prefix: p, limit: 1000 })
      expect(big.keys).toHaveLength(1000)
      expect(await kv().list({ prefix: p, limit: 1000, cursor: big.nextCursor })).toEqual({ keys: [`${p}1000`], nextCursor: null })
    })
  })

  describe("a caller's transaction", () => {
    it('writes inside it: kept on commit, gone on rollback', async () => {
      const kept = key()
      const dropped = key()
      await app().app.getDb().transaction(async (tx) => {
        await kv().set(kept, { a: 1 }, undefined, tx)
        await kv().set(kept, 2, 'b', tx)
        expect(await kv().get(kept, undefined, tx)).toEqual({ a: 1, b: 2 })
      })
      await expect(
        app().app.getDb().transaction(async (tx) => {
          await kv().set(dropped, 1, 'a', tx)
          await kv().set(kept, 3, 'c', tx)
          throw new Error('caller gives up')
        }),
      ).rejects.toThrow('caller gives up')
      expect(await kv().get(kept)).toEqual({ a: 1, b: 2 })
      await expect(kv().get(dropped)).rejects.toThrow(code('kv_not_found'))
      expect((await kv().list({ prefix: kept }, app().app.getDb())).keys).toEqual([kept])
    })

    it('a failed path set rolls back only its own part of the transaction', async () => {
      const k = key()
      await app().app.getDb().transaction(async (tx) => {
        await kv().set(k, { list: [] }, undefined, tx)
        await expect(kv().set(k, 1, 'list.x', tx)).rejects.toThrow(code('kv_path_conflict'))
        await kv().set(k, 1, 'list.0', tx)
      })
      expect(await kv().get(k)).toEqual({ list: [1] })
    })
  })

  it(`runs on ${kind}`, () => {
    expect(app().app.database.status().type).toBe(kind)
  })
})
