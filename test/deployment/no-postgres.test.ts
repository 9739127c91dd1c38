import { expect, it } from 'vitest'
import { describeNoPostgres, describePostgres, itNoPostgres } from '../helpers/app.js'
import { adminRows, createTestDatabase } from '../helpers/postgres.js'

// The marks the postgres-18 project skips (test/helpers/no-postgres.ts): a marked test that reaches
// the PostgreSQL test server fails, so none can go untested on PostgreSQL 18 by mistake.

const REFUSED = /marked describeNoPostgres or itNoPostgres reached the PostgreSQL test server/

describeNoPostgres('a suite marked as never reaching the PostgreSQL test server', () => {
  it('cannot create a database there, or run a statement as its admin', async () => {
    await expect(createTestDatabase()).rejects.toThrow(REFUSED)
    await expect(adminRows('select 1')).rejects.toThrow(REFUSED)
  })
})

itNoPostgres('a test marked the same way cannot either', async () => {
  await expect(adminRows('select 1')).rejects.toThrow(REFUSED)
})

describePostgres('a test after the marked ones', () => {
  it('reaches the server again', async () => {
    const database = await createTestDatabase()
    try {
      expect(await database.query<{ one: number }>('select 1 as one')).toEqual([{ one: 1 }])
    } finally {
      await database.drop()
    }
  })
})
