import { cp, rm } from 'node:fs/promises'
import { join } from 'node:path'
import { PGlite, type Results } from '@electric-sql/pglite'
import { afterAll, beforeAll, beforeEach, describe, expect, inject, it } from 'vitest'
import { tempDir } from '../../test/helpers/app.js'
import { MAX_STATEMENTS, preparedStatementCount, reuseStatements } from './pglite-statements.js'

let dir: string
let client: PGlite
let active = true
/** Calls into WASM: one per execProtocolStream. */
let calls = 0

beforeAll(async () => {
  dir = await tempDir('groundwork-statements-')
  await cp(inject('pgliteTemplate'), join(dir, 'pglite'), { recursive: true })
  client = await PGlite.create(join(dir, 'pglite'))
  const stream = client.execProtocolStream.bind(client)
  client.execProtocolStream = (...args) => {
    calls++
    return stream(...args)
  }
  reuseStatements(client, () => active)
  await client.exec(`create table statements_test (id integer primary key, tags text[], doc jsonb, at timestamptz, note text)`)
})

afterAll(async () => {
  await client.close()
  await rm(dir, { recursive: true, force: true })
})

beforeEach(async () => {
  active = true
  await client.exec('truncate statements_test')
})

/** What the server holds prepared: ours and any other. */
async function serverStatements(): Promise<number> {
  active = false
  try {
    const result = await client.query<{ n: number }>('select count(*)::integer as n from pg_prepared_statements')
    return result.rows[0]!.n
  } finally {
    active = true
  }
}

/** Runs `text` both ways on the same instance: PGlite's own (unnamed) and through the reused statement. */
async function bothWays(text: string, params: unknown[]): Promise<[Results<unknown>, Results<unknown>]> {
  active = false
  const own = await client.query(text, params)
  active = true
  const reused = await client.query(text, params)
  return [own, reused]
}

describe('reusing prepared statements on PGlite', () => {
  it('parses a text once: a later run is one call into WASM, and the server holds one statement for it', async () => {
    const before = preparedStatementCount(client)!
    const text = 'select $1::integer + 1 as n'
    calls = 0
    expect((await client.query(text, [1])).rows).toEqual([{ n: 2 }])
    const first = calls
    calls = 0
    expect((await client.query(text, [41])).rows).toEqual([{ n: 42 }])
    expect(calls).toBe(1)
    expect(first).toBe(2)
    expect(preparedStatementCount(client)).toBe(before + 1)
  })

  it('reads and writes the same values as PGlite\'s own way, parameter types and parsers included', async () => {
    const at = new Date('2026-12-06T10:11:12.345Z')
    const row = [1, ['a', 'b,c', 'd"e', null], { nested: { list: [1, 'x'] } }, at, null]
    await client.query('insert into statements_test values ($1, $2, $3, $4, $5)', row)
    const [own, reused] = await bothWays('select id, tags, doc, at, note from statements_test where id = $1', [1])
    expect(reused.rows).toEqual(own.rows)
    expect(reused.fields).toEqual(own.fields)
    expect(reused.rows).toEqual([{ id: 1, tags: ['a', 'b,c', 'd"e', null], doc: { nested: { list: [1, 'x'] } }, at, note: null }])
    const [ownArray, reusedArray] = await bothWays('select id, note from statements_test', [])
    expect(reusedArray).toMatchObject({ rows: ownArray.rows, affectedRows: ownArray.affectedRows })
    const updated = await client.query('update statements_test set note = $2 where id = $1', [1, 'changed'])
    expect(updated).toMatchObject({ affectedRows: 1, rows: [] })
    expect((await client.query('select note from statements_test where id = $1', [1], { rowMode: 'array' })).rows).toEqual([['changed']])
  })

  it('runs inside transactions: a rollback undoes the write, and statements prepared there stay usable', async () => {
    const text = 'insert into statements_test (id, note) values ($1, $2)'
    await client.transaction(async (tx) => {
      await tx.query(text, [10, 'rolled back'])
      await tx.rollback()
    })
    expect((await client.query('select count(*)::integer as n from statements_test')).rows).toEqual([{ n: 0 }])
    await client.transaction(async (tx) => {
      calls = 0
      await tx.query(text, [11, 'kept'])
      expect(calls).toBe(1)
    })
    expect((await client.query('select note from statements_test where id = $1', [11])).rows).toEqual([{ note: 'kept' }])
  })

  it('refuses a closed transaction as PGlite does', async () => {
    let kept: { query: PGlite['query'] } | undefined
    await client.transaction(async (tx) => {
      kept = tx
    })
    await expect(kept!.query('select 1')).rejects.toThrow('Transaction is closed')
  })

  it('reports errors as PGlite does, keeps nothing of a text that fails to parse, and the next query works', async () => {
    await client.query('insert into statements_test (id) values ($1)', [1])
    const duplicate = await client.query('insert into statements_test (id) values ($1)', [1]).catch((error: unknown) => error)
    expect(duplicate).toMatchObject({ code: '23505', query: 'insert into statements_test (id) values ($1)', params: [1] })
    const count = preparedStatementCount(client)
    await expect(client.query('selec 1')).rejects.toMatchObject({ code: '42601', query: 'selec 1' })
    expect(preparedStatementCount(client)).toBe(count)
    expect((await client.query('select 1 as one')).rows).toEqual([{ one: 1 }])
  })

  it('follows a table whose columns changed: retried outside a transaction, reported inside one and parsed again after', async () => {
    await client.exec('create table statements_changing (a integer)')
    await client.query('insert into statements_changing values ($1)', [1])
    const text = 'select * from statements_changing'
    expect((await client.query(text)).rows).toEqual([{ a: 1 }])
    await client.exec('alter table statements_changing add column b integer default 2')
    expect((await client.query(text)).rows).toEqual([{ a: 1, b: 2 }])
    await client.exec('alter table statements_changing add column c integer default 3')
    await expect(client.transaction((tx) => tx.query(text))).rejects.toMatchObject({ code: '0A000' })
    expect((await client.query(text)).rows).toEqual([{ a: 1, b: 2, c: 3 }])
  })

  it('parses again what DEALLOCATE ALL removed', async () => {
    const text = 'select $1::text as echoed'
    await client.query(text, ['before'])
    await client.exec('deallocate all')
    expect((await client.query(text, ['after'])).rows).toEqual([{ echoed: 'after' }])
  })

  it('evicts the least recently used statement, not the oldest', async () => {
    await client.query('select 1 as kept')
    await client.query('select 1 as dropped')
    for (let i = 0; i < MAX_STATEMENTS - 2; i++) await client.query(`select ${i} as filler`)
    await client.query('select 1 as kept') // used again: now the most recent
    await client.query('select 1 as newcomer') // one over the limit
    calls = 0
    await client.query('select 1 as kept')
    expect(calls).toBe(1)
    calls = 0
    await client.query('select 1 as dropped')
    expect(calls).toBe(2)
  })

  it(`keeps at most ${MAX_STATEMENTS} statements, closing the least recently used on the server too`, async () => {
    for (let i = 0; i < MAX_STATEMENTS + 20; i++) await client.query(`select ${i} as n`)
    expect(preparedStatementCount(client)).toBe(MAX_STATEMENTS)
    expect(await serverStatements()).toBe(MAX_STATEMENTS)
  })

  it('leaves COPY through /dev/blob to PGlite, which attaches the data, in and out of a transaction', async () => {
    const count = preparedStatementCount(client)
    await client.query(`copy statements_test (id, note) from '/dev/blob'`, [], { blob: new Blob(['7\tseven\n8\teight\n']) })
    const out = await client.query(`copy (select id, note from statements_test order by id) to '/dev/blob'`)
    expect(await out.blob?.text()).toBe('7\tseven\n8\teight\n')
    const inside = await client.transaction((tx) => tx.query(`copy (select note from statements_test where id = 8) to '/dev/blob'`))
    expect(await inside.blob?.text()).toBe('eight\n')
    expect(preparedStatementCount(client)).toBe(count)
  })

  it('goes PGlite\'s own way until active, and with parameter types given', async () => {
    const count = preparedStatementCount(client)
    active = false
    await client.query('select 100 as inactive')
    active = true
    await client.query('select $1 as typed', ['x'], { paramTypes: [25] })
    expect(preparedStatementCount(client)).toBe(count)
  })
})
