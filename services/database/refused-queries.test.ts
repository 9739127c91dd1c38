import { randomBytes } from 'node:crypto'
import { stat } from 'node:fs/promises'
import { sql } from 'drizzle-orm'
import pg from 'pg'
import { expect, it, onTestFinished, type TestContext } from 'vitest'
import { AUTH, describePostgres, type TestApp } from '../../test/helpers/app.js'
import { eventually, startedAppForTest } from '../../test/helpers/apps.js'
import { databaseForTest, databaseOfPlainUser } from '../../test/helpers/postgres-apps.js'
import { mountedForTest } from '../../test/helpers/mounts.js'
import { adminQuery, adminRows, type TestDatabase } from '../../test/helpers/postgres.js'

const kv = (t: TestApp, method: 'GET' | 'PUT', value?: unknown, key = 'counter') =>
  t.app.inject({ method, url: `/api/kv/${key}`, headers: AUTH, ...(value === undefined ? {} : { payload: { value } }) })

/** A session of its own holding the row lock on the key "counter" until `release()`. */
async function lockCounter(database: TestDatabase): Promise<{ release(): Promise<void> }> {
  const client = new pg.Client({ connectionString: database.url })
  await client.connect()
  onTestFinished(() => client.end().catch(() => undefined))
  await client.query('begin')
  await client.query(`select 1 from kv_entries where key = 'counter' for update`)
  return { release: async () => void (await client.query('rollback')) }
}

/**
 * Until the app's pool has closed its idle connections (after POSTGRES_POOL_IDLE_TIMEOUT_MS), so
 * that the next request opens a new one; only the LISTEN session stays. No requests meanwhile:
 * they would keep a pooled connection busy.
 */
async function untilPoolEmpty(database: TestDatabase, user: string): Promise<void> {
  await eventually(
    'the pool closing its idle connections',
    () => database.query<{ query: string }>(`select query from pg_stat_activity where usename = $1 and application_name = 'groundwork'`, [user]),
    (rows) => rows.every((row) => row.query.startsWith('LISTEN')),
  )
}

/**
 * A started app whose new sessions get `setting` (ALTER DATABASE … SET), set once the app has
 * migrated (a timeout must not cut its start short) and the key "counter" holds 1.
 */
async function appWith(setting: string | null): Promise<{ t: TestApp; database: TestDatabase }> {
  const database = await databaseForTest()
  const t = await startedAppForTest({ ...database.env, DB_TYPE: 'postgresql', POSTGRES_POOL_IDLE_TIMEOUT_MS: '100' })
  expect((await kv(t, 'PUT', 1)).statusCode).toBe(200)
  if (setting) {
    await adminQuery(`alter database "${database.name}" set ${setting}`)
    await untilPoolEmpty(database, database.env.POSTGRES_USER!)
  }
  return { t, database }
}

describePostgres('a query PostgreSQL cancels', () => {
  it('after lock_timeout: 503 database_query_canceled naming the setting, nothing changed, and served again once the lock is gone', async () => {
    const { t, database } = await appWith(`lock_timeout = '300ms'`)
    const lock = await lockCounter(database)
    const res = await kv(t, 'PUT', 2)
    expect(res.statusCode, res.body).toBe(503)
    expect(res.headers['retry-after']).toBe('5')
    expect(res.json()).toMatchObject({ error: 'database_query_canceled', message: expect.stringMatching(/lock_timeout/) })
    expect(res.json().message).toContain('SQLSTATE 55P03')
    await lock.release()
    expect((await kv(t, 'GET')).json()).toMatchObject({ value: 1 })
    expect((await kv(t, 'PUT', 3)).statusCode).toBe(200)
  })

  it('after statement_timeout: 503 database_query_canceled naming the setting', async () => {
    const { t, database } = await appWith(`statement_timeout = '300ms'`)
    const lock = await lockCounter(database)
    const res = await kv(t, 'PUT', 2)
    expect(res.statusCode, res.body).toBe(503)
    expect(res.json()).toMatchObject({ error: 'database_query_canceled', message: expect.stringMatching(/statement_timeout/) })
    expect(res.json().message).toContain('SQLSTATE 57014')
    await lock.release()
    expect((await kv(t, 'GET')).json()).toMatchObject({ value: 1 })
  })

  it("at another session's request (pg_cancel_backend): 503 database_query_canceled saying so", async () => {
    const { t, database } = await appWith(null)
    const lock = await lockCounter(database)
    const answer = kv(t, 'PUT', 2)
    // The PUT's backend, once it waits for the lock.
    const [waiting] = await eventually(
      'the PUT waiting for the row lock',
      () => database.query<{ pid: number }>(`select pid from pg_stat_activity where datname = current_database() and wait_event_type = 'Lock'`),
      (rows) => rows.length === 1,
    )
    await database.query('select pg_cancel_backend($1)', [waiting!.pid])
    const res = await answer
    expect(res.statusCode, res.body).toBe(503)
    expect(res.json()).toMatchObject({ error: 'database_query_canceled', message: expect.stringMatching(/pg_cancel_backend/) })
    expect(res.json().message).not.toMatch(/statement_timeout|lock_timeout/)
    await lock.release()
    expect((await kv(t, 'GET')).json()).toMatchObject({ value: 1 })
  })
})

describePostgres('a transaction PostgreSQL ends for a deadlock', () => {
  it('answers 409 database_conflict saying so, nothing changed, and the retry succeeds', async () => {
    // The app's sessions detect a deadlock after 100 ms, the other session only after 10 s: the app's transaction is the one ended.
    const { t, database } = await appWith(`deadlock_timeout = '100ms'`)
    const other = new pg.Client({ connectionString: database.url })
    other.on('error', () => undefined)
    await other.connect()
    onTestFinished(() => other.end().catch(() => undefined))
    await other.query(`set deadlock_timeout = '10s'`)
    await other.query('begin')
    await other.query(`select 1 from settings where key = 'smtp.host' for update`)
    // The setting write holds the settings generation row and waits for smtp.host…
    const answer = t.app.inject({ method: 'PUT', url: '/api/settings/smtp.host', headers: AUTH, payload: { value: 'mail.example.com' } })
    await eventually(
      'the settings write waiting for the row lock',
      () => database.query(`select pid from pg_stat_activity where datname = current_database() and wait_event_type = 'Lock'`),
      (rows) => rows.length === 1,
    )
    // …and the other session now waits for the generation row.
    const otherUpdate = other.query(`update settings_meta set value = value where name = 'generation'`)
    const res = await answer
    expect(res.statusCode, res.body).toBe(409)
    expect(res.json()).toMatchObject({ error: 'database_conflict', message: expect.stringContaining('deadlock detected (SQLSTATE 40P01)') })
    expect(res.json().message).toContain('Retry the request')
    await otherUpdate
    await other.query('rollback')
    expect(await t.app.settings.get('smtp.host')).toBe('')
    const retry = await t.app.inject({ method: 'PUT', url: '/api/settings/smtp.host', headers: AUTH, payload: { value: 'mail.example.com' } })
    expect(retry.statusCode, retry.body).toBe(200)
    expect(await t.app.settings.get('smtp.host')).toBe('mail.example.com')
  })
})

describePostgres('a query past a limit set on the server', () => {
  it('is translated to 503 database_insufficient_resources naming the limit (temp_file_limit, measured on the server)', async () => {
    const { t } = await appWith(`temp_file_limit = '64kB'`)
    const failure = await t.app
      .getDb()
      .transaction(async (tx) => {
        await tx.execute(sql`set local work_mem = '64kB'`)
        await tx.execute(sql`select g from generate_series(1, 100000) g order by random()`)
      })
      .then(() => null, (error: unknown) => error)
    expect(failure, 'the sort should have needed more temporary file space than temp_file_limit').not.toBeNull()
    const answer = t.app.database.queryError(failure, 'GET')!
    expect(answer.code).toBe('database_insufficient_resources')
    expect(answer.status).toBe(503)
    // PostgreSQL 17 and later quote the setting's name in the message.
    expect(answer.message).toMatch(/exceeds "?temp_file_limit"? \(64kB\) \(SQLSTATE 53400\)/)
    // The limit holds the query only: the next one runs.
    expect((await kv(t, 'GET')).json()).toMatchObject({ value: 1 })
  })
})

describePostgres('a write on a PostgreSQL that accepts none (a standby, default_transaction_read_only)', () => {
  it('answers 503 database_read_only saying why, reads still work, and writes work again once it is writable', async () => {
    const { t, database } = await appWith('default_transaction_read_only = on')
    const res = await kv(t, 'PUT', 2)
    expect(res.statusCode, res.body).toBe(503)
    expect(res.headers['retry-after']).toBe('5')
    expect(res.json()).toMatchObject({ error: 'database_read_only', message: expect.stringContaining('SQLSTATE 25006') })
    expect(res.json().message).toMatch(/standby/)
    expect((await kv(t, 'GET')).json()).toMatchObject({ value: 1 })
    await adminQuery(`alter database "${database.name}" reset default_transaction_read_only`)
    await untilPoolEmpty(database, database.env.POSTGRES_USER!)
    expect((await kv(t, 'PUT', 3)).statusCode).toBe(200)
  })
})

/**
 * A tablespace on a 1 MB file system owned by the PostgreSQL server's user, dropped and unmounted
 * when the test ends. Needs a server on this machine and mount rights; skipped, saying so, elsewhere.
 */
async function tablespaceOnSmallDisk(ctx: TestContext): Promise<string> {
  const [row] = await adminRows<{ setting: string }>(`select setting from pg_settings where name = 'data_directory'`)
  const setting = row!.setting
  const owner = await stat(setting).then((s) => s.uid, () => null)
  if (owner === null) return ctx.skip(`the PostgreSQL server's data directory (${setting}) is not on this machine`)
  const dir = await mountedForTest(ctx, ['-t', 'tmpfs', '-o', `size=1m,mode=0700,uid=${owner}`, 'tmpfs'])
  const name = `test_full_${randomBytes(4).toString('hex')}`
  await adminQuery(`create tablespace ${name} location '${dir}'`)
  // Runs before the unmount: after the database holding its files is dropped (registered later, so run first).
  onTestFinished(() => adminQuery(`drop tablespace if exists ${name}`))
  return name
}

describePostgres('a write on a PostgreSQL whose disk is full', () => {
  it('answers 507 database_full saying it is the database server\'s disk, and reads still work', async (ctx) => {
    const tablespace = await tablespaceOnSmallDisk(ctx)
    const { t, database } = await appWith(null)
    await database.query(`alter table kv_entries set tablespace ${tablespace}`)
    // Random text does not compress: each value takes its size on the 1 MB disk.
    let res = await kv(t, 'PUT', randomBytes(300_000).toString('base64'), 'big-0')
    for (let i = 1; res.statusCode === 200 && i < 10; i++) res = await kv(t, 'PUT', randomBytes(300_000).toString('base64'), `big-${i}`)
    expect(res.statusCode, res.body).toBe(507)
    expect(res.json()).toMatchObject({ error: 'database_full', message: expect.stringContaining('SQLSTATE 53100') })
    expect(res.json().message).toContain('has run out of disk space')
    expect((await kv(t, 'GET')).json()).toMatchObject({ value: 1 })
  })
})

describePostgres('a connection PostgreSQL refuses for its connection limit', () => {
  it('answers 503 database_unavailable naming the limit and POSTGRES_POOL_MAX, and serves again once it is raised', async () => {
    const { database, user } = await databaseOfPlainUser('conn_limit')
    const t = await startedAppForTest({ ...database.env, POSTGRES_USER: user, DB_TYPE: 'postgresql', POSTGRES_POOL_IDLE_TIMEOUT_MS: '100' })
    expect((await kv(t, 'PUT', 1)).statusCode).toBe(200)
    await adminQuery(`alter role ${user} connection limit 0`)
    onTestFinished(() => adminQuery(`alter role ${user} connection limit -1`).catch(() => undefined))
    await untilPoolEmpty(database, user)
    const res = await kv(t, 'GET')
    expect(res.statusCode, res.body).toBe(503)
    expect(res.headers['retry-after']).toBe('5')
    const body = res.json()
    expect(body).toMatchObject({ error: 'database_unavailable', message: expect.stringContaining('SQLSTATE 53300') })
    expect(body.message).toMatch(/max_connections/)
    expect(body.message).toMatch(/CONNECTION LIMIT/)
    expect(body.message).toContain('POSTGRES_POOL_MAX (10)')
    // Refused at connect: nothing reached the server, so no "may or may not have been applied".
    const put = await kv(t, 'PUT', 2)
    expect(put.statusCode, put.body).toBe(503)
    expect(put.json().message).not.toContain('may or may not')
    await adminQuery(`alter role ${user} connection limit -1`)
    await eventually('the database serving requests again', () => kv(t, 'GET'), (r) => r.statusCode === 200, 10_000)
    expect((await kv(t, 'GET')).json()).toMatchObject({ value: 1 })
  })
})
