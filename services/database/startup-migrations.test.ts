import pg from 'pg'
import pino from 'pino'
import { expect, it, onTestFinished } from 'vitest'
import type { DatabaseType } from '../core/config.js'
import { describeOnKind, tempDir, testConfig, type TestApp } from '../../test/helpers/app.js'
import { appForTest } from '../../test/helpers/apps.js'
import { databaseForTest } from '../../test/helpers/postgres-apps.js'
import { REAL_TAGS, migrationsWith } from '../../test/helpers/migrations.js'
import type { TestDatabase } from '../../test/helpers/postgres.js'
import { openConnection } from './connection.js'
import { sql } from 'drizzle-orm'
import { rowsOf } from './results.js'

const ready = (t: TestApp) => t.app.inject({ method: 'GET', url: '/ready' })

/** An existing database of `kind`, migrated by an earlier version (0000 only), and the env that selects it. */
async function existingDatabase(kind: DatabaseType): Promise<{ env: Record<string, string>; options: { seedPglite?: boolean; dataDir?: string }; database: TestDatabase | null }> {
  // Its own dataDir: closing the app then leaves the PGlite folder for tableExists() to read.
  if (kind === 'pglite') return { env: {}, options: { seedPglite: true, dataDir: await tempDir() }, database: null }
  const database = await databaseForTest()
  const first = await appForTest({ ...database.env, DB_TYPE: 'postgresql' })
  await first.ready()
  expect(first.app.database.status()).toMatchObject({ initialized: true })
  await first.close()
  return { env: { ...database.env, DB_TYPE: 'postgresql' }, options: {}, database }
}

/** Whether a table exists in the database the app used (read after the app has closed, for PGlite). */
async function tableExists(kind: DatabaseType, t: TestApp, database: TestDatabase | null, table: string): Promise<boolean> {
  if (database) return (await database.query(`select to_regclass('public.${table}') is not null as found`))[0]!.found as boolean
  const connection = await openConnection(kind, testConfig({ PERSISTENT_DATA_DIR: t.dataDir }), pino({ level: 'silent' }))
  try {
    return rowsOf<{ found: boolean }>(await connection.db.execute(sql.raw(`select to_regclass('public.${table}') is not null as found`)))[0]!.found
  } finally {
    await connection.close()
  }
}

for (const kind of ['pglite', 'postgresql'] as const) {
  describeOnKind(kind)(`starting on an existing ${kind} database with a migration pending`, () => {
    it('answers /ready 503 while it applies the migration, then 200 with every migration applied', async () => {
      const { env, options, database } = await existingDatabase(kind)
      const migrationsFolder = await migrationsWith([{ tag: '0001_add_notes', sql: 'create table notes (id int primary key)' }])
      let release = async () => undefined as void
      if (database) {
        // Hold drizzle's journal table: the migrator waits for it exactly as it would for another instance's run.
        const blocker = new pg.Client({ connectionString: database.url })
        await blocker.connect()
        await blocker.query('begin; lock table drizzle.__drizzle_migrations in access exclusive mode')
        release = async () => {
          await blocker.query('rollback').catch(() => undefined)
          await blocker.end().catch(() => undefined)
        }
        onTestFinished(() => release())
      }
      const t = await appForTest(env, { ...options, config: { migrationsFolder } })
      await t.app.ready()

      const during = await ready(t)
      expect(during.statusCode).toBe(503)
      expect(during.json()).toMatchObject({ error: 'database_not_ready', message: expect.stringContaining('applying migrations') })
      expect(t.app.database.status()).toMatchObject({ configured: true, initialized: false, phase: 'connecting' })
      if (database) {
        // However long the other run takes, the answer stays 503.
        await new Promise((resolve) => setTimeout(resolve, 500))
        expect((await ready(t)).statusCode).toBe(503)
        await release()
      }

      await t.app.database.settled()
      expect((await ready(t)).statusCode).toBe(200)
      expect(t.app.database.status()).toMatchObject({ phase: 'ready', last_error: null, migrations: { total: REAL_TAGS.length + 1, applied: REAL_TAGS.length + 1, pending: [] } })
      expect(t.logs.join('')).toContain('"migration":"0001_add_notes"')
      await t.close()
      expect(await tableExists(kind, t, database, 'notes')).toBe(true)
    }, 60_000)

    it('shows a migration that fails at startup in last_error, naming it, keeps /ready at 503, and applies none of it', async () => {
      const { env, options, database } = await existingDatabase(kind)
      const migrationsFolder = await migrationsWith([{ tag: '0001_broken', sql: 'create table half_done (id int);\n--> statement-breakpoint\nselect * from no_such_table;' }])
      const t = await appForTest(env, { ...options, config: { migrationsFolder } })
      await t.ready()

      const status = t.app.database.status()
      expect(status).toMatchObject({ configured: true, initialized: false, phase: 'failed', last_error: { code: 'migration_failed', at: expect.any(String) } })
      expect(status.last_error?.message).toMatch(/^Migration 0001_broken failed at statement 2 of 2: relation "no_such_table" does not exist\. Nothing was applied/)
      const answer = await ready(t)
      expect(answer.statusCode).toBe(503)
      expect(answer.json().message).toContain('0001_broken')
      expect(t.logs.join('')).toContain('migration_failed')
      await t.close()
      expect(await tableExists(kind, t, database, 'half_done')).toBe(false)
    }, 60_000)
  })
}
