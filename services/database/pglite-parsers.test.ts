import { PGlite, type QueryOptions, type Transaction } from '@electric-sql/pglite'
import { eq, sql } from 'drizzle-orm'
import { drizzle } from 'drizzle-orm/pglite'
import { cp, rm } from 'node:fs/promises'
import { join } from 'node:path'
import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest'
import { inject } from 'vitest'
import { tempDir } from '../../test/helpers/app.js'
import { kvEntries } from '../kv/schema.js'
import { skipUnusedParsers } from './pglite-parsers.js'

describe('PGlite queries skip the parsers option where it cannot change the rows', () => {
  let dir: string
  let client: PGlite
  // The options PGlite itself received, per query, outside a transaction and inside one.
  let seen: (QueryOptions | undefined)[] = []

  beforeAll(async () => {
    dir = await tempDir()
    await cp(inject('pgliteTemplate'), join(dir, 'pglite'), { recursive: true })
    client = new PGlite(join(dir, 'pglite'))
    await client.waitReady
    const query = client.query.bind(client)
    const transaction = client.transaction.bind(client)
    Object.assign(client, {
      query: (text: string, params?: unknown[], options?: QueryOptions) => (seen.push(options), query(text, params, options)),
      transaction: <T>(callback: (tx: Transaction) => Promise<T>) =>
        transaction((tx) => {
          const txQuery = tx.query.bind(tx)
          return callback(Object.create(tx, { query: { value: (text: string, params?: unknown[], options?: QueryOptions) => (seen.push(options), txQuery(text, params, options)) } }) as Transaction)
        }),
    })
    skipUnusedParsers(client)
    await client.query(`insert into kv_entries (key, value, updated_at) values ('k', '{"a":1}', '2026-01-02 03:04:05.123456+00')`)
  })
  afterAll(async () => {
    await client.close()
    await rm(dir, { recursive: true, force: true })
  })
  beforeEach(() => {
    seen = []
  })

  const db = () => drizzle({ client })

  it('runs a prepared query whose columns need none of them without the option after its first run, with the same rows', async () => {
    const find = db().select({ value: sql<string>`${kvEntries.value}::text` }).from(kvEntries).where(eq(kvEntries.key, sql.placeholder('key'))).prepare('find_value')
    const runs = [await find.execute({ key: 'k' }), await find.execute({ key: 'k' }), await find.execute({ key: 'k' })]
    expect(runs).toEqual([[{ value: '{"a": 1}' }], [{ value: '{"a": 1}' }], [{ value: '{"a": 1}' }]])
    expect(seen.map((options) => options?.parsers !== undefined)).toEqual([true, false, false])
    expect(seen.map((options) => options?.rowMode)).toEqual(['array', 'array', 'array'])
  })

  it('keeps the option for a prepared query whose result has a type it overrides: dates stay text, as Drizzle expects', async () => {
    // Without Drizzle's parsers PGlite would turn the date into a Date and the timestamp without
    // time zone into one Drizzle cannot read (Invalid Date): both runs must see Drizzle's parsers.
    const read = db()
      .select({ day: sql<string>`'2026-01-02'::date`, at: sql<string>`${kvEntries.updatedAt} at time zone 'UTC'` })
      .from(kvEntries)
      .where(eq(kvEntries.key, sql.placeholder('key')))
      .prepare('read_dates')
    for (let run = 0; run < 3; run++) expect(await read.execute({ key: 'k' })).toEqual([{ day: '2026-01-02', at: '2026-01-02 03:04:05.123456' }])
    expect(seen.every((options) => options?.parsers !== undefined)).toBe(true)
    expect(seen).toHaveLength(3)
  })

  it('does the same inside a transaction, on the query the transaction was given', async () => {
    const rows = await db().transaction(async (tx) => {
      const find = tx.select({ key: kvEntries.key, updatedAt: kvEntries.updatedAt }).from(kvEntries).where(eq(kvEntries.key, sql.placeholder('key'))).prepare('tx_find')
      const text = tx.select({ key: kvEntries.key }).from(kvEntries).where(eq(kvEntries.key, sql.placeholder('key'))).prepare('tx_key')
      return [await find.execute({ key: 'k' }), await find.execute({ key: 'k' }), await text.execute({ key: 'k' }), await text.execute({ key: 'k' })]
    })
    expect(rows).toEqual([
      [{ key: 'k', updatedAt: new Date('2026-01-02T03:04:05.123Z') }],
      [{ key: 'k', updatedAt: new Date('2026-01-02T03:04:05.123Z') }],
      [{ key: 'k' }],
      [{ key: 'k' }],
    ])
    expect(seen.map((options) => options?.parsers !== undefined)).toEqual([true, true, true, false])
  })

  it('leaves queries without the option, and unprepared Drizzle queries, as they were', async () => {
    expect((await client.query<{ one: number }>('select 1 as one')).rows).toEqual([{ one: 1 }])
    await db().select({ key: kvEntries.key }).from(kvEntries)
    await db().select({ key: kvEntries.key }).from(kvEntries)
    expect(seen.map((options) => options?.parsers !== undefined)).toEqual([false, true, true])
  })
})
