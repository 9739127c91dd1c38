import { cp, rm } from 'node:fs/promises'
import { join } from 'node:path'
import { afterEach, expect, inject, it, onTestFinished } from 'vitest'
import { buildTestApp, describeNoPostgres, describePostgres, exists, tempDir, type TestApp } from '../../test/helpers/app.js'
import { eventually } from '../../test/helpers/apps.js'
import { migrationsWith } from '../../test/helpers/migrations.js'
import { createTestDatabase } from '../../test/helpers/postgres.js'

const apps: TestApp[] = []
afterEach(async () => {
  await Promise.all(apps.splice(0).map((t) => t.close()))
})

async function until(what: string, check: () => Promise<boolean>, deadlineMs = 20_000): Promise<void> {
  const deadline = Date.now() + deadlineMs
  while (!(await check())) {
    if (Date.now() > deadline) throw new Error(`no ${what} within ${deadlineMs} ms`)
    await new Promise((resolve) => setTimeout(resolve, 20))
  }
}

/** Both settle; the setup's outcome is returned as a value so a success can be asserted against. */
async function setupThenClose(t: TestApp, type: 'pglite' | 'postgresql', closeWhen: () => Promise<boolean>) {
  const setup = t.app.database.setup(type).then(
    (value) => ({ ok: true as const, value }),
    (error: unknown) => ({ ok: false as const, error }),
  )
  await until('moment to close', closeWhen)
  await t.app.database.close()
  return setup
}

describeNoPostgres('a close that arrives during a setup', () => {
  it('wins over an embedded setup: the connection is closed, the lock released, nothing recorded', async () => {
    // A migrated folder without a selection file: the setup opens it instead of creating one (seconds faster).
    const dataDir = await tempDir()
    onTestFinished(() => rm(dataDir, { recursive: true, force: true }))
    await cp(inject('pgliteTemplate'), join(dataDir, 'pglite'), { recursive: true })
    const t = await buildTestApp({}, { dataDir })
    apps.push(t)
    await t.ready()
    // The lock is taken just before PGlite starts opening the folder.
    const outcome = await setupThenClose(t, 'pglite', () => exists(join(t.dataDir, 'pglite.lock')))
    expect(outcome).toMatchObject({ ok: false, error: { code: 'database_not_ready', message: expect.stringMatching(/shut down during the setup.*nothing was recorded/) } })
    expect(t.app.database.status()).toMatchObject({ phase: 'closed', initialized: false, configured: false, setup_in_progress: false })
    expect(() => t.app.getDb()).toThrow(/shutting down/)
    expect(await exists(join(t.dataDir, 'pglite.lock'))).toBe(false)
    expect(await exists(join(t.dataDir, 'pglite', 'PG_VERSION'))).toBe(true)
    expect(await exists(join(t.dataDir, 'db.selection.json'))).toBe(false)
  })
})

describePostgres('a close that arrives during a PostgreSQL setup', () => {
  it('leaves no connection open and does not overwrite the closed phase', async () => {
    const db = await createTestDatabase()
    onTestFinished(() => db.drop())
    const slow = await migrationsWith([{ tag: '0001_slow', sql: 'select pg_sleep(1);' }])
    const t = await buildTestApp(db.env, { config: { migrationsFolder: slow } })
    apps.push(t)
    await t.ready()
    const sleeping = async () => (await db.query("select 1 from pg_stat_activity where datname = current_database() and query like 'select pg_sleep%'")).length > 0
    const outcome = await setupThenClose(t, 'postgresql', sleeping)
    expect(outcome).toMatchObject({ ok: false, error: { code: 'database_not_ready', message: expect.stringContaining('shut down during the setup') } })
    expect(t.app.database.status()).toMatchObject({ phase: 'closed', initialized: false, setup_in_progress: false })
    expect(() => t.app.getDb()).toThrow(/shutting down/)
    expect(await exists(join(t.dataDir, 'db.selection.json'))).toBe(false)
    // The test's own queries ran one at a time on one connection: any other one is the app's. A
    // backend leaves pg_stat_activity a moment after its client hangs up, so wait for that moment.
    const others = () => db.query('select pid from pg_stat_activity where datname = current_database() and pid <> pg_backend_pid()')
    expect(await eventually('the app\'s connections to end', others, (rows) => rows.length === 0, 5_000)).toEqual([])
  })
})
