import { mkdir, readdir, rm, writeFile } from 'node:fs/promises'
import { join } from 'node:path'
import { spawn } from 'node:child_process'
import { randomUUID } from 'node:crypto'
import { hostname } from 'node:os'
import { afterAll, beforeAll, expect, it, onTestFinished } from 'vitest'
import { AUTH, describeNoPostgres, describePostgres, exists, type TestApp } from '../../test/helpers/app.js'
import { appForTest, postSetup } from '../../test/helpers/apps.js'
import { closedPort, startBlackhole } from '../../test/helpers/network.js'
import { migrationsWith } from '../../test/helpers/migrations.js'
import { adminQuery, createTestDatabase, type TestDatabase } from '../../test/helpers/postgres.js'

/** After a failed setup the service must be exactly as before: unconfigured, no file, retryable. */
async function expectNothingWritten(t: TestApp) {
  expect(await exists(join(t.dataDir, 'db.selection.json'))).toBe(false)
  expect(t.app.database.status()).toMatchObject({ configured: false, initialized: false, setup_in_progress: false })
}

describeNoPostgres('a failed setup writes nothing', () => {
  it('for an unreachable server: 502 naming host:port and what to check', async () => {
    const port = await closedPort()
    const t = await appForTest({ POSTGRES_HOST: '127.0.0.1', POSTGRES_PORT: String(port), POSTGRES_USER: 'app', POSTGRES_DATABASE: 'app' })
    const res = await postSetup(t, 'postgresql')
    expect(res.statusCode).toBe(502)
    expect(res.json()).toEqual({
      error: 'database_unreachable',
      message: expect.stringMatching(new RegExp(`^Could not reach PostgreSQL at 127\\.0\\.0\\.1:${port} \\(ECONNREFUSED\\)\\. Check POSTGRES_HOST/POSTGRES_PORT`)),
    })
    await expectNothingWritten(t)
  })

  it('without a secret in the answer, the status or the log, even when DATABASE_URL holds the password', async () => {
    const port = await closedPort()
    const secret = 'url-password-s3cr3t'
    const t = await appForTest({ DATABASE_URL: `postgresql://app:${secret}@127.0.0.1:${port}/app`, POSTGRES_PASSWORD: 'env-password-s3cr3t' })
    const res = await postSetup(t, 'postgresql')
    expect(res.statusCode).toBe(502)
    const status = await t.app.inject({ method: 'GET', url: '/api/db/status' })
    for (const text of [res.body, status.body, t.logs.join('')]) {
      expect(text).not.toContain(secret)
      expect(text).not.toContain('env-password-s3cr3t')
      expect(text).not.toContain(AUTH.authorization.slice(7))
    }
    expect(t.logs.join('')).toContain('database_unreachable')
  })

  it('for a server that accepts but never answers: within the connect timeout, and the status never waits', async () => {
    const hole = await startBlackhole()
    try {
      const t = await appForTest({
        POSTGRES_HOST: '127.0.0.1',
        POSTGRES_PORT: String(hole.port),
        POSTGRES_USER: 'app',
        POSTGRES_DATABASE: 'app',
        POSTGRES_CONNECT_TIMEOUT_MS: '2000',
      })
      await t.app.ready()
      let finished = false
      const pending = Promise.resolve(postSetup(t, 'postgresql')).finally(() => {
        finished = true
      })
      // While the setup hangs on the server, the status answers from memory.
      let sawInProgress = false
      while (!finished && !sawInProgress) {
        const status = (await t.app.inject({ method: 'GET', url: '/api/db/status' })).json()
        sawInProgress = status.setup_in_progress === true && status.configured === false
        await new Promise((resolve) => setTimeout(resolve, 10))
      }
      expect(sawInProgress).toBe(true)
      const res = await pending
      expect(res.statusCode).toBe(502)
      expect(res.json()).toMatchObject({ error: 'database_unreachable', message: expect.stringContaining(`127.0.0.1:${hole.port}`) })
      await expectNothingWritten(t)
    } finally {
      await hole.close()
    }
  })

  it('for a failing PGlite migration: 500 naming it, and the new data folder removed', async () => {
    const migrationsFolder = await migrationsWith([{ tag: '0001_broken', sql: 'create table broken (id int primary key);\n--> statement-breakpoint\nselect * from missing_table;' }])
    const t = await appForTest({}, { config: { migrationsFolder } })
    const res = await postSetup(t, 'pglite')
    expect(res.statusCode).toBe(500)
    expect(res.json()).toMatchObject({ error: 'migration_failed', migration: '0001_broken', message: expect.stringMatching(/^Migration 0001_broken failed at statement 2 of 2: relation "missing_table" does not exist/) })
    await expectNothingWritten(t)
    // The settings service's key is made at startup, before any setup; nothing of the setup remains.
    expect((await readdir(t.dataDir)).filter((name) => name !== 'encryption.key')).toEqual([])
  })

  it('when the migrations folder is missing: 500 saying it must ship, never "nothing to do"', async () => {
    const t = await appForTest({}, { config: { migrationsFolder: '/nonexistent/drizzle' } })
    const res = await postSetup(t, 'pglite')
    expect(res.statusCode).toBe(500)
    expect(res.json()).toMatchObject({ error: 'migrations_missing', message: expect.stringContaining('/nonexistent/drizzle/meta/_journal.json') })
    await expectNothingWritten(t)
    expect(await exists(join(t.dataDir, 'pglite'))).toBe(false)
  })
})

describeNoPostgres('an embedded database in use by another process', () => {
  it('answers 503 database_locked naming the process and the lock file, and creates nothing', async () => {
    const owner = spawn(process.execPath, ['-e', 'setTimeout(() => {}, 60000)'], { stdio: 'ignore' })
    onTestFinished(() => {
      owner.kill()
    })
    const t = await appForTest()
    await t.ready()
    const lockFile = join(t.dataDir, 'pglite.lock')
    await writeFile(lockFile, JSON.stringify({ pid: owner.pid, hostname: hostname(), startedAt: new Date().toISOString(), token: 'someone-else' }))
    const res = await postSetup(t, 'pglite')
    expect(res.statusCode).toBe(503)
    expect(res.json()).toMatchObject({
      error: 'database_locked',
      lock_file: lockFile,
      owner_pid: owner.pid,
      message: expect.stringMatching(new RegExp(`in use by process ${owner.pid} on this machine.*If no such process exists, delete ${lockFile.replace(/[.]/g, '\\.')}`)),
    })
    await expectNothingWritten(t)
    // Only the other process's lock: no database folder, no selection file (the settings key is not ours to judge).
    expect((await readdir(t.dataDir)).filter((name) => name !== 'encryption.key')).toEqual(['pglite.lock'])
  })
})

/** Puts a plain file where the data folder was, so nothing can be created in it (root ignores permissions). */
async function breakDataDir(dataDir: string) {
  await rm(dataDir, { recursive: true, force: true })
  await writeFile(dataDir, 'not a folder')
}

describeNoPostgres('a data folder that cannot be written', () => {
  it('fails an embedded setup with 500 naming PERSISTENT_DATA_DIR, not an unexplained error', async () => {
    const t = await appForTest()
    await t.ready()
    await breakDataDir(t.dataDir)
    const res = await postSetup(t, 'pglite')
    expect(res.statusCode).toBe(500)
    expect(res.json()).toEqual({
      error: 'persistent_data_unwritable',
      message: expect.stringMatching(new RegExp(`^Could not write ${t.dataDir}/pglite\\.lock \\((ENOTDIR|EEXIST)\\)\\. The folder ${t.dataDir} \\(PERSISTENT_DATA_DIR\\) must be a writable folder`)),
    })
    expect(t.app.database.status()).toMatchObject({ configured: false, setup_in_progress: false })
  })
})

describePostgres('a failed PostgreSQL setup writes nothing', () => {
  let database: TestDatabase
  beforeAll(async () => {
    database = await createTestDatabase()
  })
  afterAll(() => database.drop())

  it('for a refused login: 502 naming the user and the variables to check', async () => {
    const t = await appForTest({ ...database.env, POSTGRES_USER: 'no_such_role' })
    const res = await postSetup(t, 'postgresql')
    expect(res.statusCode).toBe(502)
    expect(res.json()).toMatchObject({ error: 'database_auth_failed', message: expect.stringMatching(/user "no_such_role".*POSTGRES_USER/) })
    await expectNothingWritten(t)
  })

  it('for a missing database: 502 saying how to create it', async () => {
    const t = await appForTest({ ...database.env, POSTGRES_DATABASE: `${database.name}_missing` })
    const res = await postSetup(t, 'postgresql')
    expect(res.statusCode).toBe(502)
    expect(res.json()).toMatchObject({ error: 'database_not_found', message: expect.stringContaining(`createdb -h ${database.env.POSTGRES_HOST}`) })
    await expectNothingWritten(t)
  })

  it('when the selection file cannot be written: 500 naming the folder, unconfigured, and retryable once fixed', async () => {
    // Its own database: this setup gets as far as migrating.
    const own = await createTestDatabase()
    onTestFinished(() => own.drop())
    const t = await appForTest(own.env)
    await t.ready()
    await breakDataDir(t.dataDir)
    const res = await postSetup(t, 'postgresql')
    expect(res.statusCode).toBe(500)
    expect(res.json()).toMatchObject({ error: 'persistent_data_unwritable', message: expect.stringContaining(`${t.dataDir}/db.selection.json`) })
    expect(t.app.database.status()).toMatchObject({ configured: false, initialized: false, setup_in_progress: false })
    expect(() => t.app.getDb()).toThrow(/No database is set up yet/)

    await rm(t.dataDir, { force: true })
    await mkdir(t.dataDir)
    expect((await postSetup(t, 'postgresql')).statusCode).toBe(200)
    expect(await exists(join(t.dataDir, 'db.selection.json'))).toBe(true)
  })

  it('for a user that may not create tables: 502 database_permission_denied naming the user, the database and the GRANTs', async () => {
    const own = await createTestDatabase()
    onTestFinished(() => own.drop())
    const role = `setup_${randomUUID().replace(/-/g, '').slice(0, 12)}`
    await adminQuery(`create role ${role} login password '${role}-pw'`)
    onTestFinished(() => adminQuery(`drop role if exists ${role}`))
    // PostgreSQL 15 no longer lets every role create in public; also take CREATE on the database away.
    await own.query(`revoke create on schema public from public; revoke create on database "${own.name}" from public`)
    const t = await appForTest({ ...own.env, POSTGRES_USER: role, POSTGRES_PASSWORD: `${role}-pw` })
    const res = await postSetup(t, 'postgresql')
    expect(res.json()).toMatchObject({ error: 'database_permission_denied', message: expect.stringContaining(`User "${role}" lacks a permission on database "${own.name}"`) })
    expect(res.statusCode).toBe(502)
    expect(res.json().message).toContain(`GRANT CREATE ON DATABASE "${own.name}" TO "${role}"`)
    await expectNothingWritten(t)
    expect(await own.query("select to_regclass('public.instance') as t, to_regnamespace('drizzle') as d")).toEqual([{ t: null, d: null }])
  })

  it('for a failing migration: rolled back on the server, and the setup can be retried once fixed', async () => {
    const broken = await migrationsWith([{ tag: '0001_broken', sql: 'create table half_done (id int);\n--> statement-breakpoint\nselect 1/0;' }])
    const t = await appForTest(database.env, { config: { migrationsFolder: broken } })
    const res = await postSetup(t, 'postgresql')
    expect(res.statusCode).toBe(500)
    expect(res.json()).toMatchObject({ error: 'migration_failed', migration: '0001_broken', message: expect.stringContaining('division by zero') })
    await expectNothingWritten(t)
    expect(await database.query("select to_regclass('public.half_done') as a, to_regclass('public.instance') as b")).toEqual([{ a: null, b: null }])

    const fixed = await appForTest(database.env, { dataDir: t.dataDir })
    expect((await postSetup(fixed, 'postgresql')).statusCode).toBe(200)
  })
})
