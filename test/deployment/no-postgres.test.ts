import { expect, it } from 'vitest'
import { describeNoPostgres, describePostgres, itNoPostgres } from '../helpers/app.js'
import { adminRows, createTestDatabase, type TestDatabase } from '../helpers/postgres.js'

// The marks the postgres-18 project skips (test/helpers/no-postgres.ts): a marked test that reaches
// the PostgreSQL test server fails, so none can go untested on PostgreSQL 18 by mistake.

const REFUSED = /marked describeNoPostgres or itNoPostgres reached the PostgreSQL test server/

/** What creating a database gives: the refusal, or, if the guard let it through, the error below (the database dropped at once, so a failing run leaves none behind). */
async function creationOutcome(): Promise<unknown> {
  let created: TestDatabase
  try {
    created = await createTestDatabase()
  } catch (error) {
    return error
  }
  await created.drop()
  return new Error(`created ${created.name}`)
}

describeNoPostgres('a suite marked as never reaching the PostgreSQL test server', () => {
  it('cannot create a database there, or run a statement as its admin', async () => {
    expect(await creationOutcome()).toMatchObject({ message: expect.stringMatching(REFUSED) })
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
