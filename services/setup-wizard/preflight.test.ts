import { randomUUID } from 'node:crypto'
import { expect, it, onTestFinished } from 'vitest'
import { describePostgres, testConfig } from '../../test/helpers/app.js'
import { appForTest, postSetup } from '../../test/helpers/apps.js'
import { databaseForTest } from '../../test/helpers/postgres-apps.js'
import { REAL_TAGS } from '../../test/helpers/migrations.js'
import { adminQuery } from '../../test/helpers/postgres.js'
import { readMigrations } from '../database/migrator.js'
import { runPreflight } from './preflight.js'
import type { PreflightReport } from './schemas.js'

describePostgres('the preflight against the real PostgreSQL server', () => {
  async function preflight(env: Record<string, string>): Promise<PreflightReport> {
    const config = testConfig(env)
    return runPreflight(config.postgres, await readMigrations(config.migrationsFolder))
  }

  const migrations = (n: number) => `${n} migration${n === 1 ? '' : 's'}`
  const escape = (text: string) => text.replace(/[.*+?^${}()|[\]\\]/g, '\\$&')
  const byCheck = (report: PreflightReport) => Object.fromEntries(report.checks.map((check) => [check.check, check]))

  it('passes every check on an empty database, and leaves it exactly as it was', async () => {
    const db = await databaseForTest()
    const objectsBefore = await db.query(`select count(*)::int as n from pg_class c join pg_namespace n on n.oid = c.relnamespace where n.nspname not in ('pg_catalog', 'information_schema', 'pg_toast')`)
    const report = await preflight(db.env)
    expect(report.ok).toBe(true)
    expect(report.warnings).toBe(0)
    expect(report.checks.map((check) => check.status)).toEqual(Array(8).fill('passed'))
    const checks = byCheck(report)
    expect(checks.reachable?.detail).toMatch(new RegExp(`^${escape(`${db.env.POSTGRES_HOST}:${db.env.POSTGRES_PORT}`)} accepted a connection in \\d+ ms\\.$`))
    expect(checks.version?.detail).toMatch(/^PostgreSQL \d+\.\d+.*: version 13 or newer is supported\.$/)
    expect(checks.contents?.detail).toBe(`The database is empty: the setup will create groundwork's tables (${migrations(REAL_TAGS.length)}).`)
    expect(await db.query(`select count(*)::int as n from pg_class c join pg_namespace n on n.oid = c.relnamespace where n.nspname not in ('pg_catalog', 'information_schema', 'pg_toast')`)).toEqual(objectsBefore)
    expect(await db.query(`select nspname from pg_namespace where nspname = 'drizzle'`)).toEqual([])
  })

  it('recognises a database the setup already migrated, and how far', async () => {
    const db = await databaseForTest()
    const t = await appForTest(db.env)
    expect((await postSetup(t, 'postgresql')).statusCode).toBe(200)
    const report = await preflight(db.env)
    expect(byCheck(report).contents).toMatchObject({ status: 'passed', detail: `A groundwork database: ${REAL_TAGS.length} of ${migrations(REAL_TAGS.length)} applied; the setup will use it as it is.` })
  })

  it('warns, naming them, about tables groundwork did not create', async () => {
    const db = await databaseForTest()
    await db.query('create table customers (id int); create table orders (id int)')
    const report = await preflight(db.env)
    expect(report).toMatchObject({ ok: true, warnings: 1 })
    expect(byCheck(report).contents).toMatchObject({
      status: 'warning',
      ok: true,
      detail: 'The database holds 2 tables that groundwork did not create (public.customers, public.orders).',
      remedy: expect.stringContaining('Prefer an empty database'),
    })
  })

  it('fails when a table of ours exists without a migration record, since the migration would then fail', async () => {
    const db = await databaseForTest()
    await db.query('create table instance (id int)')
    const contents = byCheck(await preflight(db.env)).contents
    expect(contents).toMatchObject({ status: 'failed', detail: expect.stringContaining('public.instance already exists, but no groundwork migration was ever recorded here') })
  })

  it('passes the login but fails "database exists" for a missing database, with the command that creates it', async () => {
    const db = await databaseForTest()
    const report = await preflight({ ...db.env, POSTGRES_DATABASE: `${db.name}_missing` })
    const checks = byCheck(report)
    expect(checks.login?.status).toBe('passed')
    expect(checks.database).toMatchObject({
      status: 'failed',
      detail: `The database "${db.name}_missing" does not exist on ${db.env.POSTGRES_HOST}:${db.env.POSTGRES_PORT}.`,
      remedy: expect.stringContaining(`createdb -h ${db.env.POSTGRES_HOST} -p ${db.env.POSTGRES_PORT} -U ${db.env.POSTGRES_USER} ${db.name}_missing`),
    })
    expect(checks.version?.status).toBe('skipped')
  })

  it('fails the login for a role that does not exist, saying what to check', async () => {
    const db = await databaseForTest()
    const login = byCheck(await preflight({ ...db.env, POSTGRES_USER: 'nobody_here' })).login
    // A trust-auth server says the role does not exist; one that asks for a password (TEST_DATABASE_URL) refuses it.
    expect(login).toMatchObject({ status: 'failed', detail: expect.stringMatching(/does not let user "nobody_here" in|refused the password for user "nobody_here"/) })
    expect(login?.remedy).toMatch(/Check POSTGRES_USER(, that the role exists with LOGIN.*pg_hba\.conf| and POSTGRES_PASSWORD)/)
  })

  it('fails "permission to create tables" for a role without CREATE, with the GRANTs to run, and passes once granted', async () => {
    const role = `preflight_${randomUUID().replace(/-/g, '').slice(0, 12)}`
    await adminQuery(`create role ${role} login password '${role}-pw'`)
    // Registered first, so it runs last (cleanups run in reverse): the grants go with the database.
    onTestFinished(() => adminQuery(`drop role if exists ${role}`))
    const db = await databaseForTest()
    const env = { ...db.env, POSTGRES_USER: role, POSTGRES_PASSWORD: `${role}-pw` }

    const denied = byCheck(await preflight(env)).permissions
    expect(denied).toMatchObject({ status: 'failed', detail: `User "${role}" may not create tables in schema "public" or the "drizzle" schema.` })
    expect(denied?.remedy).toContain(`GRANT CREATE ON SCHEMA "public" TO "${role}"; GRANT CREATE ON DATABASE "${db.name}" TO "${role}";`)

    await db.query(`grant create on schema public to ${role}; grant create on database "${db.name}" to ${role}`)
    expect(byCheck(await preflight(env)).permissions?.status).toBe('passed')
  })

  it('warns when the user may not create plugin roles, with the SQL to run, and passes once the roles are granted', async () => {
    const role = `preflight_${randomUUID().replace(/-/g, '').slice(0, 12)}`
    await adminQuery(`create role ${role} login password '${role}-pw'`)
    onTestFinished(() => adminQuery(`drop role if exists ${role}`))
    const db = await databaseForTest()
    const env = { ...db.env, POSTGRES_USER: role, POSTGRES_PASSWORD: `${role}-pw` }
    const config = testConfig(env)
    const check = async (ids: string[]) => byCheck(await runPreflight(config.postgres, await readMigrations(config.migrationsFolder), undefined, ids)).plugins

    expect(await check([])).toMatchObject({ status: 'passed', detail: 'No plugin is installed: nothing to isolate.' })
    const warned = await check(['notes'])
    expect(warned).toMatchObject({ status: 'warning', ok: true, detail: expect.stringContaining(`User "${role}" may not create roles, so notes would not be loaded`) })
    expect(warned?.remedy).toContain(`ALTER ROLE "${role}" CREATEROLE; or create each plugin's role and grant it: CREATE ROLE groundwork_plugin_notes NOLOGIN; GRANT groundwork_plugin_notes TO "${role}";`)

    await adminQuery(`do $$ begin create role groundwork_plugin_notes nologin; exception when duplicate_object or unique_violation then null; end $$`)
    await adminQuery(`grant groundwork_plugin_notes to ${role}`)
    expect(await check(['notes'])).toMatchObject({ status: 'passed', detail: expect.stringContaining("Every plugin's role exists") })
  })
})
