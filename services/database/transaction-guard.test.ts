import { eq, sql } from 'drizzle-orm'
import { afterAll, beforeAll, expect, it } from 'vitest'
import { KINDS, openTestConnection, type TestConnection } from '../../test/helpers/connections.js'
import { describeOnKind } from '../../test/helpers/app.js'
import { rowsOf } from './results.js'
import { instance } from './schema.js'

for (const kind of KINDS) {
  describeOnKind(kind)(`transactions on ${kind}`, () => {
    let t: TestConnection
    beforeAll(async () => {
      t = await openTestConnection(kind)
      await t.connection.db.execute(sql`create table guard_notes (id int primary key, body text not null)`)
    })
    afterAll(() => t.close())

    const count = async () => rowsOf<{ n: number }>(await t.connection.db.execute(sql`select count(*)::int as n from guard_notes`))[0]!.n

    it('refuses a query on the outer database inside its transaction, naming the fix, and rolls the transaction back', async () => {
      const { db } = t.connection
      const attempt = db.transaction(async (tx) => {
        await tx.execute(sql`insert into guard_notes values (1, 'kept only if committed')`)
        await db.select().from(instance)
      })
      await expect(attempt).rejects.toMatchObject({ code: 'transaction_misuse', message: expect.stringMatching(/run every query on tx/) })
      expect(await count()).toBe(0)
      // The database still answers: on PGlite the same query without the guard hangs the instance forever.
      await expect(db.select().from(instance)).resolves.toEqual([])
    })

    it('refuses a raw execute and a second transaction on the outer database just the same', async () => {
      const { db } = t.connection
      await expect(db.transaction(async () => db.execute(sql`select 1`))).rejects.toMatchObject({ code: 'transaction_misuse' })
      await expect(db.transaction(async () => db.transaction(async () => undefined))).rejects.toMatchObject({ code: 'transaction_misuse' })
    })

    it('runs everything given the transaction, nested savepoints included, and commits it', async () => {
      const { db } = t.connection
      await db.transaction(async (tx) => {
        await tx.execute(sql`insert into guard_notes values (2, 'outer')`)
        await tx
          .transaction(async (inner) => {
            await inner.execute(sql`insert into guard_notes values (3, 'inner, rolled back')`)
            throw new Error('undo the savepoint only')
          })
          .catch(() => undefined)
        await tx.select().from(instance).where(eq(instance.singleton, true))
      })
      expect(rowsOf<{ id: number }>(await db.execute(sql`select id from guard_notes order by id`))).toEqual([{ id: 2 }])
    })

    it('lets work started inside a transaction use the database once the transaction has ended', async () => {
      const { db } = t.connection
      let later: Promise<unknown> = Promise.resolve()
      await db.transaction(async (tx) => {
        await tx.execute(sql`select 1`)
        later = new Promise((resolve) => setTimeout(resolve, 20)).then(() => db.execute(sql`select count(*) from guard_notes`))
      })
      await expect(later).resolves.toBeDefined()
    })

    it('does not confuse another request\'s queries with the transaction\'s flow', async () => {
      const { db } = t.connection
      let release!: () => void
      const held = new Promise<void>((resolve) => (release = resolve))
      const transaction = db.transaction(async (tx) => {
        await tx.execute(sql`insert into guard_notes values (10, 'concurrent')`)
        await held
      })
      // Another flow, outside the transaction: waits on PGlite's one connection, runs at once on a pool.
      const outside = db.execute(sql`select 1 as one`)
      release()
      await transaction
      expect(rowsOf(await outside)).toEqual([{ one: 1 }])
    })
  })
}
