import { randomUUID } from 'node:crypto'
import type { InjectOptions } from 'fastify'
import { describe, expect, it } from 'vitest'
import { AUTH } from '../../test/helpers/app.js'
import { describeEachKind } from '../../test/helpers/database-kinds.js'
import { MAX_VALUE_BYTES } from './json-value.js'

const url = (key: string, query = '') => `/api/kv/${encodeURIComponent(key)}${query}`
const json = { ...AUTH, 'content-type': 'application/json' }

describeEachKind('the KV HTTP API', (_kind, app) => {
  const inject = (options: InjectOptions) => app().app.inject(options)
  const put = (key: string, body: unknown) => inject({ method: 'PUT', url: url(key), headers: json, payload: JSON.stringify(body) })
  const get = (key: string, query = '') => inject({ method: 'GET', url: url(key, query), headers: AUTH })
  const key = () => `http/${randomUUID()}`

  describe('the admin token', () => {
    it.each([
      ['GET', '/api/kv/x'],
      ['PUT', '/api/kv/x'],
      ['DELETE', '/api/kv/x'],
      ['GET', '/api/kv'],
    ] as const)('is required for %s %s, before the body is read', async (method, path) => {
      const res = await inject({ method, url: path, headers: { 'content-type': 'application/json' }, payload: method === 'PUT' ? '{not json' : undefined })
      expect(res.statusCode).toBe(401)
      expect(res.json()).toMatchObject({ error: 'unauthorized', message: expect.stringContaining('Authorization: Bearer') })
    })
  })

  describe('GET and PUT', () => {
    it('stores and reads a value: 200 {key, value}', async () => {
      const k = key()
      const value = { name: 'Sylvain', tags: ['a', null], n: 1.5, ok: true }
      const saved = await put(k, { value })
      expect(saved.statusCode).toBe(200)
      expect(saved.json()).toEqual({ key: k, value })
      expect((await get(k)).json()).toEqual({ key: k, value })
    })

    it('stores null, false and strings as values', async () => {
      for (const value of [null, false, 0, '', 'text']) {
        const k = key()
        expect((await put(k, { value })).json()).toEqual({ key: k, value })
        expect((await get(k)).json()).toEqual({ key: k, value })
      }
    })

    it('writes at a dot or array path and answers with the whole value', async () => {
      const k = key()
      await put(k, { value: { a: 1 } })
      expect((await put(k, { value: 5, path: 'b.5' })).json()).toEqual({ key: k, value: { a: 1, b: [null, null, null, null, null, 5] } })
      expect((await put(k, { value: 5, path: ['c', '5'] })).json()).toEqual({ key: k, value: { a: 1, b: [null, null, null, null, null, 5], c: { '5': 5 } } })
      expect((await get(k, '?path=b.5')).json()).toEqual({ key: k, value: 5 })
      expect((await get(k, '?path=c.5')).json()).toEqual({ key: k, value: 5 })
    })

    it("refuses GET's ?path= and ?part= on PUT and DELETE, and any other query, changing nothing", async () => {
      const k = key()
      const value = { a: { b: 1 }, c: 2 }
      expect((await put(k, { value })).statusCode).toBe(200)
      // Ignored, ?path= replaced the whole value with 2, and DELETE removed the whole key.
      const putAtQueryPath = await inject({ method: 'PUT', url: url(k, '?path=a.b'), headers: json, payload: JSON.stringify({ value: 2 }) })
      expect(putAtQueryPath.statusCode).toBe(400)
      expect(putAtQueryPath.json()).toEqual({ error: 'invalid_request', message: 'PUT takes the path in its JSON body, {"value": …, "path": "a.b"}; ?path= and ?part= are for GET. Nothing was written.' })
      const deleteAtQueryPart = await inject({ method: 'DELETE', url: url(k, '?part=a&part=b'), headers: AUTH })
      expect(deleteAtQueryPart.statusCode).toBe(400)
      expect(deleteAtQueryPart.json().message).toContain('DELETE removes a whole key and takes no path')
      const unknown = await inject({ method: 'PUT', url: url(k, '?overwrite=false'), headers: json, payload: JSON.stringify({ value: 3 }) })
      expect(unknown.json()).toMatchObject({ error: 'invalid_request', message: expect.stringContaining('unknown field "overwrite"') })
      expect((await get(k)).json()).toEqual({ key: k, value })
    })

    it('reads names that hold dots with repeated ?part= parameters', async () => {
      const k = key()
      await put(k, { value: 1, path: ['x.y', ''] })
      expect((await get(k, '?part=x.y&part=')).json()).toEqual({ key: k, value: 1 })
      expect((await get(k, '?part=x.y')).json()).toEqual({ key: k, value: { '': 1 } })
      expect((await get(k, '?path=x.y')).statusCode).toBe(404)
      expect((await get(k, '?path=x&part=y')).json()).toMatchObject({ error: 'invalid_request' })
    })

    it('answers 400 kv_path_conflict for a named part inside an array and changes nothing', async () => {
      const k = key()
      await put(k, { value: { list: [1] } })
      const res = await put(k, { value: 2, path: 'list.name' })
      expect(res.statusCode).toBe(400)
      expect(res.json()).toMatchObject({ error: 'kv_path_conflict', message: expect.stringContaining('Nothing was changed') })
      expect((await get(k)).json().value).toEqual({ list: [1] })
    })

    it('answers 404 kv_not_found for an unknown key or path, saying which', async () => {
      const k = key()
      const missingKey = await get(k)
      expect(missingKey.statusCode).toBe(404)
      expect(missingKey.json()).toEqual({ error: 'kv_not_found', message: `No value is stored under the key "${k}".`, key: k })
      await put(k, { value: { a: { b: [7] } } })
      expect((await get(k, '?path=a.b.0')).json()).toEqual({ key: k, value: 7 })
      const missingPath = await get(k, '?path=a.b.1')
      expect(missingPath.statusCode).toBe(404)
      expect(missingPath.json()).toMatchObject({ error: 'kv_not_found', path: 'a.b.1', message: expect.stringContaining('exists, but it has nothing at the path "a.b.1"') })
    })

    it('round-trips U+0000, U+0001 and a "__proto__" name', async () => {
      const k = key()
      const body = '{"value": {"__proto__": {"x": "a\\u0000b"}, "k\\u0000": "\\u0001"}}'
      const res = await inject({ method: 'PUT', url: url(k), headers: json, payload: body })
      expect(res.statusCode).toBe(200)
      const expected = JSON.parse(body).value
      expect(JSON.parse(res.body).value).toEqual(expected)
      expect(JSON.parse((await get(k)).body).value).toEqual(expected)
      expect((await get(k, '?path=__proto__.x')).json().value).toBe('a\u0000b')
    })

    it('answers 413 kv_value_too_large above 1 MiB and keeps the old value', async () => {
      const k = key()
      await put(k, { value: 'old' })
      const res = await put(k, { value: 'x'.repeat(MAX_VALUE_BYTES - 1) })
      expect(res.statusCode).toBe(413)
      expect(res.json()).toMatchObject({ error: 'kv_value_too_large', bytes: MAX_VALUE_BYTES + 1, max_bytes: MAX_VALUE_BYTES })
      expect((await get(k)).json().value).toBe('old')
      expect((await put(k, { value: 'x'.repeat(MAX_VALUE_BYTES - 2) })).statusCode).toBe(200)
    })

    it('answers 413 payload_too_large for a body far beyond any storable value', async () => {
      const res = await put(key(), { value: 'x'.repeat(5 * MAX_VALUE_BYTES) })
      expect(res.statusCode).toBe(413)
      expect(res.json()).toMatchObject({ error: 'payload_too_large' })
    })

    it.each([
      ['not JSON', '{"value": ', 'invalid_request'],
      ['without value', '{"path": "a"}', 'invalid_request'],
      ['with an unknown field', '{"value": 1, "extra": 2}', 'invalid_request'],
      ['with a path that is not text', '{"value": 1, "path": [1]}', 'invalid_request'],
      ['with an empty dot path', '{"value": 1, "path": ""}', 'kv_invalid_path'],
      ['with a lone surrogate', '{"value": "\\ud800"}', 'kv_invalid_value'],
      ['nested 2000 levels deep', `{"value": ${'['.repeat(2000)}${']'.repeat(2000)}}`, 'kv_invalid_value'],
    ])('answers 400 to a body %s', async (_, payload, error) => {
      const res = await inject({ method: 'PUT', url: url(key()), headers: json, payload })
      expect(res.statusCode).toBe(400)
      expect(res.json()).toMatchObject({ error })
    })
  })

  describe('keys in the URL', () => {
    const odd = ['users/id/002485', 'a b', '100%', 'q?x=1#frag', 'plus+sign', 'é中😀', '/leading', 'trailing/', 'a//b', "it's", '..x', '😀'.repeat(128)]

    it.each(odd)('round-trips %j through inject', async (k) => {
      expect((await put(k, { value: k })).json()).toEqual({ key: k, value: k })
      expect((await get(k)).json()).toEqual({ key: k, value: k })
      expect((await inject({ method: 'DELETE', url: url(k), headers: AUTH })).statusCode).toBe(204)
    })

    it('round-trips them over a real socket too', async () => {
      const address = await app().app.listen({ port: 0, host: '127.0.0.1' })
      for (const k of odd) {
        const at = `${address}${url(k)}`
        const saved = await fetch(at, { method: 'PUT', headers: json, body: JSON.stringify({ value: { k } }) })
        expect(saved.status).toBe(200)
        expect(await saved.json()).toEqual({ key: k, value: { k } })
        expect(await (await fetch(at, { headers: AUTH })).json()).toEqual({ key: k, value: { k } })
      }
    })

    it('answers 400 kv_invalid_key for a key over 512 bytes or with U+0000', async () => {
      for (const k of ['x'.repeat(513), '😀'.repeat(129), 'a\u0000b']) {
        const res = await put(k, { value: 1 })
        expect(res.statusCode).toBe(400)
        expect(res.json()).toMatchObject({ error: 'kv_invalid_key' })
      }
    })
  })

  describe('DELETE', () => {
    it('answers 204 with no body, then 404', async () => {
      const k = key()
      await put(k, { value: 1 })
      const res = await inject({ method: 'DELETE', url: url(k), headers: AUTH })
      expect(res.statusCode).toBe(204)
      expect(res.body).toBe('')
      expect((await get(k)).statusCode).toBe(404)
      const again = await inject({ method: 'DELETE', url: url(k), headers: AUTH })
      expect(again.statusCode).toBe(404)
      expect(again.json()).toMatchObject({ error: 'kv_not_found' })
    })
  })

  describe('listing', () => {
    it('pages with prefix, limit and cursor, and next_cursor null at the end', async () => {
      const p = `list-${randomUUID()}/`
      for (const name of ['b', 'a', 'c_', 'c%']) await put(p + name, { value: 1 })
      const list = (query: Record<string, string>) => inject({ method: 'GET', url: '/api/kv', query, headers: AUTH })
      const first = await list({ prefix: p, limit: '3' })
      expect(first.statusCode).toBe(200)
      expect(first.json()).toEqual({ keys: [`${p}a`, `${p}b`, `${p}c%`], next_cursor: expect.any(String) })
      expect((await list({ prefix: p, limit: '3', cursor: first.json().next_cursor })).json()).toEqual({ keys: [`${p}c_`], next_cursor: null })
      expect((await list({ prefix: `${p}c_` })).json()).toEqual({ keys: [`${p}c_`], next_cursor: null })
    })

    it.each([
      [{ limit: '0' }, 'kv_invalid_limit'],
      [{ limit: '1001' }, 'kv_invalid_limit'],
      [{ limit: 'ten' }, 'invalid_request'],
      [{ cursor: 'not a cursor' }, 'kv_invalid_cursor'],
      [{ other: 'x' }, 'invalid_request'],
    ])('answers 400 to %j', async (query, error) => {
      const res = await inject({ method: 'GET', url: '/api/kv', query, headers: AUTH })
      expect(res.statusCode).toBe(400)
      expect(res.json()).toMatchObject({ error })
    })
  })
})
