import pg from 'pg'
import { expect, inject, it } from 'vitest'
import { MIN_SERVER_VERSION } from '../../services/setup-wizard/preflight-queries.js'
import { describePostgres } from '../helpers/app.js'
import { ADMIN_URL } from '../helpers/postgres.js'

// The README names the PostgreSQL versions the suite runs on: this proves each project really
// reaches the server it claims (the postgres-18 project swaps TEST_DATABASE_URL for its own).

async function serverMajor(): Promise<number> {
  const client = new pg.Client({ connectionString: ADMIN_URL })
  await client.connect()
  try {
    const { rows } = await client.query<{ version: string }>(`select current_setting('server_version_num') as version`)
    return Math.floor(Number(rows[0]!.version) / 10_000)
  } finally {
    await client.end()
  }
}

describePostgres('the PostgreSQL test server', () => {
  it('is PostgreSQL 18 in the postgres-18 project, and one the app supports otherwise', async () => {
    const major = await serverMajor()
    if (inject('postgres18Url')) expect(major).toBe(18)
    else expect(major).toBeGreaterThanOrEqual(MIN_SERVER_VERSION)
  })
})
