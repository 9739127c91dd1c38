import { readFile, writeFile } from 'node:fs/promises'
import { join } from 'node:path'
import { expect, it } from 'vitest'
import { describeNoPostgres, describePostgres, exists, tempDir } from '../../test/helpers/app.js'
import { appForTest, eventually, postSetup, startedAppForTest } from '../../test/helpers/apps.js'
import { databaseForTest } from '../../test/helpers/postgres-apps.js'
import { REAL_TAGS } from '../../test/helpers/migrations.js'
import { adminQuery } from '../../test/helpers/postgres.js'
import { instance } from './schema.js'
import { affectedRows } from './results.js'

describeNoPostgres('starting with a selection file', () => {
  it('reports a corrupt file in the status and the log, naming it, and never overwrites it', async () => {
    const dataDir = await tempDir()
    const path = join(dataDir, 'db.selection.json')
    await writeFile(path, '{"type": "pglite", oops')
    const t = await startedAppForTest({}, { dataDir })

    const status = (await t.app.inject({ method: 'GET', url: '/api/db/status' })).json()
    expect(status).toMatchObject({ configured: true, initialized: false, phase: 'invalid_selection', last_error: { code: 'selection_file_invalid' } })
    expect(status.last_error.message).toBe(
      `The database selection file ${path} is invalid: it is not valid JSON. It was left untouched. Fix it, or move it away to run the setup again (the data itself is not in that file), then restart.`,
    )
    expect(t.logs.some((line) => line.includes('"level":50') && line.includes(path))).toBe(true)

    const setup = await postSetup(t, 'pglite')
    expect(setup.statusCode).toBe(409)
    expect(setup.json()).toMatchObject({ error: 'selection_file_invalid' })
    expect(await readFile(path, 'utf8')).toBe('{"type": "pglite", oops')
    expect((await t.app.inject({ method: 'GET', url: '/ready' })).statusCode).toBe(503)
  })

  it('opens the chosen embedded database at startup, ready with nothing left to apply', async () => {
    const t = await startedAppForTest({}, { seedPglite: true })
    expect(t.app.database.status()).toMatchObject({ configured: true, initialized: true, type: 'pglite', source: 'file', migrations: { applied: REAL_TAGS.length, pending: [] } })
    expect(t.logs.join('')).not.toContain('applied migration')
    expect(affectedRows(await t.app.getDb().update(instance).set({ databaseType: 'pglite' }))).toBe(1)
  })

  it('refuses to start on a DB_TYPE that disagrees with the selection file', async () => {
    const t = await startedAppForTest({ DB_TYPE: 'postgresql' }, { seedPglite: true })
    expect(t.app.database.status()).toMatchObject({ phase: 'invalid_selection', last_error: { message: expect.stringContaining('DB_TYPE=postgresql disagrees with') } })
  })
})

describeNoPostgres('shutting down', () => {
  it('refuses a setup that arrives after the database service has closed, and getDb() says why', async () => {
    const t = await startedAppForTest()
    await t.app.database.close()
    await expect(t.app.database.setup('pglite')).rejects.toMatchObject({ code: 'database_not_ready', message: expect.stringContaining('shutting down') })
    expect(() => t.app.getDb()).toThrow(/shutting down/)
    expect(await exists(join(t.dataDir, 'pglite'))).toBe(false)
  })
})

describePostgres('starting on PostgreSQL', () => {
  it('keeps the choice across a restart and re-applies nothing', async () => {
    const db = await databaseForTest()
    const dataDir = await tempDir()
    const first = await startedAppForTest(db.env, { dataDir })
    expect((await postSetup(first, 'postgresql')).statusCode).toBe(200)
    await first.close()

    const second = await startedAppForTest(db.env, { dataDir })
    expect(second.app.database.status()).toMatchObject({ configured: true, initialized: true, type: 'postgresql', source: 'file', migrations: { applied: REAL_TAGS.length, pending: [] } })
    expect(second.logs.join('')).not.toContain('applied migration')
    expect(await db.query('select count(*)::int as n from drizzle.__drizzle_migrations')).toEqual([{ n: REAL_TAGS.length }])
    expect(await db.query('select count(*)::int as n from instance')).toEqual([{ n: 1 }])
  })

  it('configures itself from DB_TYPE without the wizard, and then answers the setup with 409', async () => {
    const db = await databaseForTest()
    const t = await startedAppForTest({ ...db.env, DB_TYPE: 'postgresql' })
    expect(t.app.database.status()).toMatchObject({ configured: true, initialized: true, source: 'environment', type: 'postgresql' })
    const res = await postSetup(t, 'pglite')
    expect(res.statusCode).toBe(409)
    expect(res.json()).toMatchObject({ error: 'already_configured', database_type: 'postgresql', message: expect.stringContaining('DB_TYPE=postgresql') })
  })

  it('starts even when the database is missing, shows why, and comes up by itself once it exists', async () => {
    const name = `test_late_${Date.now()}`
    const db = await databaseForTest()
    const t = await startedAppForTest({ ...db.env, POSTGRES_DATABASE: name, DB_TYPE: 'postgresql' })
    try {
      const status = t.app.database.status()
      expect(status).toMatchObject({ configured: true, initialized: false, phase: 'failed', last_error: { code: 'database_not_found' } })
      expect(() => t.app.getDb()).toThrow(/configured but not usable: The database "test_late_\d+" does not exist/)
      const ready = await t.app.inject({ method: 'GET', url: '/ready' })
      expect(ready.statusCode).toBe(503)
      expect(ready.json()).toMatchObject({ error: 'database_not_ready' })

      await adminQuery(`create database "${name}"`)
      const after = await eventually('the database coming up', () => t.app.database.status(), (s) => s.initialized)
      expect(after).toMatchObject({ initialized: true, phase: 'ready', last_error: null })
      expect((await t.app.inject({ method: 'GET', url: '/ready' })).statusCode).toBe(200)
    } finally {
      await t.close()
      await adminQuery(`drop database if exists "${name}" with (force)`)
    }
  })

  it('survives the server dropping its idle connections', async () => {
    const db = await databaseForTest()
    const t = await startedAppForTest({ ...db.env, DB_TYPE: 'postgresql' })
    await t.app.getDb().select().from(instance)
    await adminQuery(`select pg_terminate_backend(pid) from pg_stat_activity where datname = '${db.name}' and application_name = 'groundwork'`)
    await eventually('the dropped connection logged', () => t.logs.join(''), (logs) => logs.includes('an idle PostgreSQL connection failed'), 5_000)
    // The pool (shared with the job queue) held several connections; each leaves it when its own
    // error arrives, so a query may still meet one that is dying. The process survives, and
    // queries succeed again as soon as the dead ones are gone.
    const rows = () => t.app.getDb().select().from(instance).then((found) => found.length, (error: unknown) => String(error))
    expect(await eventually('queries to succeed again', rows, (found) => found === 1, 5_000)).toBe(1)
    expect(affectedRows(await t.app.getDb().update(instance).set({ databaseType: 'postgresql' }))).toBe(1)
  })

  it('answers restart_required naming a service that could not start after setup, and keeps retrying it', async () => {
    const db = await databaseForTest()
    const t = await appForTest(db.env)
    const started: string[] = []
    let attempts = 0
    t.app.lifecycle.register({
      name: 'mailer',
      start: async () => {
        started.push('mailer')
      },
    })
    t.app.lifecycle.register({
      name: 'search-index',
      start: async () => {
        attempts += 1
        if (attempts === 1) throw new Error('index folder is read-only')
      },
    })
    const res = await postSetup(t, 'postgresql')
    expect(res.statusCode).toBe(200)
    expect(res.json()).toMatchObject({ restart_required: true, message: expect.stringContaining('search-index could not start. The server retries it on its own') })
    expect(started).toEqual(['mailer'])
    // Only the services this test registered: the app's own (e.g. settings) are listed too.
    const ours = () => t.app.database.status().services.filter((s) => s.name === 'mailer' || s.name === 'search-index')
    expect(ours()).toEqual([
      { name: 'mailer', state: 'running', ok: true, error: null, problems: [] },
      { name: 'search-index', state: 'failed', ok: false, error: 'index folder is read-only', problems: [] },
    ])
    // The first retry comes after the connection's backoff (1 s).
    const services = await eventually('search-index running', ours, (list) => list[1]?.state === 'running', 5_000)
    expect(services[1]).toEqual({ name: 'search-index', state: 'running', ok: true, error: null, problems: [] })
    expect(attempts).toBe(2)
  })
})
