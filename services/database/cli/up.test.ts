import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { describePostgres, tempDir } from '../../../test/helpers/app.js'
import { closedPort } from '../../../test/helpers/network.js'
import { REAL_TAGS } from '../../../test/helpers/migrations.js'
import { createTestDatabase, type TestDatabase } from '../../../test/helpers/postgres.js'
import { runTs } from '../../../test/helpers/processes.js'

const dbUp = async (env: Record<string, string>) => {
  const run = runTs('services/database/cli/main.ts', { LOG_LEVEL: 'info', ...env }, ['up'])
  const { code } = await run.exited
  return { code, output: run.output() }
}

describe('npm run db -- up (db:up)', () => {
  it('exits 1 saying how to select a database when none is', async () => {
    const dir = await tempDir()
    const { code, output } = await dbUp({ PERSISTENT_DATA_DIR: dir })
    expect(code).toBe(1)
    expect(output).toContain(`No database is selected: ${dir}/db.selection.json does not exist and DB_TYPE is not set`)
  })

  it('exits 1 naming the server it cannot reach', async () => {
    const port = await closedPort()
    const { code, output } = await dbUp({
      PERSISTENT_DATA_DIR: await tempDir(),
      DB_TYPE: 'postgresql',
      POSTGRES_HOST: '127.0.0.1',
      POSTGRES_PORT: String(port),
      POSTGRES_USER: 'app',
      POSTGRES_DATABASE: 'app',
    })
    expect(code).toBe(1)
    expect(output).toContain(`Could not reach PostgreSQL at 127.0.0.1:${port} (ECONNREFUSED)`)
  })

  it('exits 1 naming each bad variable before touching anything', async () => {
    const { code, output } = await dbUp({ PERSISTENT_DATA_DIR: await tempDir(), POSTGRES_PORT: 'five' })
    expect(code).toBe(1)
    expect(output).toContain('POSTGRES_PORT: expected a whole number from 1 to 65535, got "five"')
  })
})

describePostgres('npm run db -- up on PostgreSQL', () => {
  let database: TestDatabase
  beforeAll(async () => {
    database = await createTestDatabase()
  })
  afterAll(() => database.drop())

  it('prints each migration it applies, then finds nothing to do the second time', async () => {
    const env = { ...database.env, PERSISTENT_DATA_DIR: await tempDir(), DB_TYPE: 'postgresql' }
    const first = await dbUp(env)
    expect(first.code).toBe(0)
    expect(first.output).toContain('applied 0000_database_instance')
    const second = await dbUp(env)
    expect(second.code).toBe(0)
    expect(second.output).toContain(`the database is up to date (${REAL_TAGS.length} migrations applied)`)
    expect(second.output).not.toContain('applied 0000')
    expect(await database.query('select database_type from instance')).toEqual([{ database_type: 'postgresql' }])
  })

  it('lets two processes migrate one fresh database at once: each migration is applied exactly once', async () => {
    const fresh = await createTestDatabase()
    try {
      const env = { ...fresh.env, DB_TYPE: 'postgresql' }
      const [a, b] = await Promise.all([dbUp({ ...env, PERSISTENT_DATA_DIR: await tempDir() }), dbUp({ ...env, PERSISTENT_DATA_DIR: await tempDir() })])
      expect([a.code, b.code]).toEqual([0, 0])
      expect([a.output, b.output].filter((output) => output.includes('applied 0000_database_instance'))).toHaveLength(1)
      expect(await fresh.query('select count(*)::int as n from drizzle.__drizzle_migrations')).toEqual([{ n: REAL_TAGS.length }])
      expect(await fresh.query('select count(*)::int as n from instance')).toEqual([{ n: 1 }])
    } finally {
      await fresh.drop()
    }
  })
})
