import { eq, sql } from 'drizzle-orm'
import { pgTable, text } from 'drizzle-orm/pg-core'
import pg from 'pg'
import { afterAll, beforeAll, expect, it, vi } from 'vitest'
import { KINDS, openTestConnection, type TestConnection } from '../../test/helpers/connections.js'
import { describeOnKind } from '../../test/helpers/app.js'
import { driverError } from '../core/errors.js'
import type { Executor } from './connection.js'
import { preparedValue, type ValueStatement } from './prepared-value.js'

const notes = pgTable('prepared_value_notes', { id: text('id').primaryKey(), body: text('body').notNull() })

/** The select every test reads through, recording each time Drizzle's prepared query is made. */
function bodyById(prepared: string[]): (db: Executor) => ValueStatement {
  return (db) => {
    const select = db.select({ value: notes.body }).from(notes).where(eq(notes.id, sql.placeholder('id')))
    return {
      toSQL: () => select.toSQL(),
      prepare: (name) => {
        prepared.push(name)
        return select.prepare(name)
      },
    }
  }
}

for (const kind of KINDS) {
  describeOnKind(kind)(`preparedValue on ${kind}`, () => {
    let t: TestConnection
    beforeAll(async () => {
      t = await openTestConnection(kind)
      await t.connection.db.execute(sql`create table prepared_value_notes (id text primary key, body text not null)`)
      await t.connection.db.insert(notes).values([
        { id: 'a', body: 'first' },
        { id: 'b', body: 'second' },
      ])
    })
    afterAll(() => t.close())

    it('answers the value of the row each call asks for, and undefined where there is none', async () => {
      const read = preparedValue('prepared_value_answers', bodyById([]))
      const { db } = t.connection
      expect(await read(db, { id: 'a' })).toBe('first')
      expect(await read(db, { id: 'b' })).toBe('second')
      expect(await read(db, { id: 'missing' })).toBeUndefined()
      const many = await Promise.all(['a', 'b', 'a', 'missing', 'b'].map((id) => read(db, { id })))
      expect(many).toEqual(['first', 'second', 'first', undefined, 'second'])
    })

    it(`runs ${kind === 'postgresql' ? 'straight on the pool for the database itself' : "Drizzle's prepared query on the database"}, and Drizzle's in a transaction, where it sees the transaction's writes`, async () => {
      const prepared: string[] = []
      const read = preparedValue('prepared_value_paths', bodyById(prepared))
      const { db } = t.connection
      expect(await read(db, { id: 'a' })).toBe('first')
      expect(await read(db, { id: 'b' })).toBe('second')
      expect(prepared).toEqual(kind === 'postgresql' ? [] : ['prepared_value_paths'])
      prepared.length = 0
      await db
        .transaction(async (tx) => {
          await tx.insert(notes).values({ id: 'c', body: 'only inside' })
          // Same statement name and SQL as the pool path: on PostgreSQL the pool hands the transaction its last idle
          // connection, the one the reads above prepared it on, so a different text would fail here.
          expect(await read(tx, { id: 'c' })).toBe('only inside')
          expect(await read(tx, { id: 'a' })).toBe('first')
          tx.rollback()
        })
        .catch((error: unknown) => {
          if (!(error instanceof Error && error.message === 'Rollback')) throw error
        })
      expect(prepared).toEqual(['prepared_value_paths'])
      expect(await read(db, { id: 'c' })).toBeUndefined()
    })

    // The fixed part of its pg config sits on a prototype (pg copies only own properties): this shows pg still
    // reads the name and the row mode from there. A lost name would parse the statement on every call.
    it.runIf(kind === 'postgresql')('sends a named statement, parsed once per pooled connection, and reads its rows as arrays', async () => {
      const parse = vi.spyOn(pg.Connection.prototype, 'parse')
      try {
        const read = preparedValue('prepared_value_named', bodyById([]))
        const { db } = t.connection
        for (let round = 0; round < 5; round++) expect(await Promise.all([read(db, { id: 'a' }), read(db, { id: 'b' })])).toEqual(['first', 'second'])
        const ours = parse.mock.calls.flatMap(([query], i) => {
          const { name, text } = query as { name?: string; text: string }
          return text.includes('prepared_value_notes') ? [{ name, connection: parse.mock.contexts[i] }] : []
        })
        expect(ours.length).toBeGreaterThan(0)
        // One Parse per connection the ten reads used, never one per call.
        expect(new Set(ours.map((parsed) => parsed.connection)).size).toBe(ours.length)
        expect(new Set(ours.map((parsed) => parsed.name))).toEqual(new Set(['prepared_value_named']))
      } finally {
        parse.mockRestore()
      }
    })

    it('refuses a read of the outer database inside its transaction, as every other query', async () => {
      const read = preparedValue('prepared_value_guard', bodyById([]))
      const { db } = t.connection
      await expect(db.transaction(async () => read(db, { id: 'a' }))).rejects.toMatchObject({ code: 'transaction_misuse' })
      expect(await read(db, { id: 'a' })).toBe('first')
    })

    it("fails with the database's own error (its SQLSTATE) when the statement cannot run", async () => {
      const read = preparedValue('prepared_value_error', (db) => ({
        toSQL: () => db.select({ value: sql<string>`body` }).from(sql`prepared_value_absent`).toSQL(),
        prepare: (name) => db.select({ value: sql<string>`body` }).from(sql`prepared_value_absent`).prepare(name),
      }))
      const error = await read(t.connection.db, {}).catch((caught: unknown) => caught)
      expect(driverError(error)).toMatchObject({ code: '42P01', message: expect.stringContaining('prepared_value_absent') })
      // Which statement failed, for the error log: Drizzle's wrapper names it on its path, ours on the pool's (values left out).
      if (kind === 'postgresql') expect(error).toMatchObject({ statement: 'prepared_value_error', query: expect.stringContaining('prepared_value_absent') })
      else expect(error).toMatchObject({ message: expect.stringContaining('Failed query: select body from prepared_value_absent') })
    })
  })
}
