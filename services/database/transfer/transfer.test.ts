import { mkdir, readFile } from 'node:fs/promises'
import { join } from 'node:path'
import pino from 'pino'
import { afterAll, beforeAll, expect, it } from 'vitest'
import { describePostgres, exists, tempDir, testConfig } from '../../../test/helpers/app.js'
import { seedPgliteSetup } from '../../../test/helpers/pglite-template.js'
import { createTestDatabase, type TestDatabase } from '../../../test/helpers/postgres.js'
import { runTs, waitFor } from '../../../test/helpers/processes.js'
import { SMTP_PASSWORD, digestPglite, digestPostgres, populate, settingsOn, type Digest } from '../../../test/helpers/transfer-data.js'
import { openConnection } from '../connection.js'
import { initializeDatabase } from '../initialize.js'
import { readMigrations } from '../migrator.js'
import { acquirePgliteLock } from '../pglite-lock.js'

const KV_ROWS = 100_000

const transferCli = (env: Record<string, string>, args: string[]) => runTs('services/database/cli/main.ts', { LOG_LEVEL: 'warn', ...env }, ['transfer', ...args])
const selectionOf = async (dir: string) => JSON.parse(await readFile(join(dir, 'db.selection.json'), 'utf8')).type as string

describePostgres('npm run db -- transfer', () => {
  let dataDir: string
  let source: Digest
  const targets: TestDatabase[] = []
  const target = async () => {
    const database = await createTestDatabase()
    targets.push(database)
    return database
  }

  beforeAll(async () => {
    dataDir = await tempDir()
    await seedPgliteSetup(dataDir)
    const connection = await openConnection('pglite', testConfig({ PERSISTENT_DATA_DIR: dataDir }), pino({ level: 'silent' }))
    try {
      await populate(connection.db, dataDir, 'pglite', KV_ROWS)
    } finally {
      await connection.close()
    }
    source = await digestPglite(join(dataDir, 'pglite'))
  }, 120_000)
  afterAll(async () => {
    for (const database of targets) await database.drop()
  })

  it('has a source with every table populated', () => {
    for (const [table, { rows }] of Object.entries(source)) expect(rows, table).toBeGreaterThan(0)
    expect(source.kv_entries!.rows).toBe(KV_ROWS)
  })

  it('refuses a target that holds rows of ours, naming the table, and changes nothing', async () => {
    const database = await target()
    const connection = await openConnection('postgresql', testConfig({ PERSISTENT_DATA_DIR: await tempDir(), ...database.env }), pino({ level: 'silent' }))
    await initializeDatabase(connection.db, 'postgresql', await readMigrations(testConfig().migrationsFolder))
    await connection.close()
    await database.query(`insert into kv_entries (key, value) values ('theirs', '1')`)
    const run = transferCli({ PERSISTENT_DATA_DIR: dataDir, ...database.env }, ['--to', 'postgresql'])
    expect((await run.exited).code).toBe(1)
    expect(run.output()).toContain('already holds data of groundwork: public.kv_entries has 1 row(s)')
    expect(await database.query('select key from kv_entries')).toEqual([{ key: 'theirs' }])
    expect(await selectionOf(dataDir)).toBe('pglite')
  })

  it('refuses while the server holds the embedded database, saying which process', async () => {
    const lock = await acquirePgliteLock(join(dataDir, 'pglite.lock'), join(dataDir, 'pglite'))
    try {
      const database = await target()
      const run = transferCli({ PERSISTENT_DATA_DIR: dataDir, ...database.env }, ['--to', 'postgresql'])
      expect((await run.exited).code).toBe(1)
      expect(run.output()).toContain(`is in use by process ${process.pid} on this machine`)
      expect(await database.query(`select to_regclass('drizzle.__drizzle_migrations') as t`)).toEqual([{ t: null }])
    } finally {
      await lock.release()
    }
  })

  it('refuses a target at different migrations', async () => {
    const database = await target()
    await database.query('create schema drizzle')
    await database.query('create table drizzle.__drizzle_migrations (id serial primary key, hash text not null, created_at bigint)')
    await database.query(`insert into drizzle.__drizzle_migrations (hash, created_at) values ('another-app', 1)`)
    const run = transferCli({ PERSISTENT_DATA_DIR: dataDir, ...database.env }, ['--to', 'postgresql'])
    expect((await run.exited).code).toBe(1)
    expect(run.output()).toContain('is at different migrations than this build (1 migration(s) this build does not know)')
    expect(await database.query(`select to_regclass('public.kv_entries') as t`)).toEqual([{ t: null }])
  })

  it('prints the plan with --dry-run and changes nothing', async () => {
    const database = await target()
    const run = transferCli({ PERSISTENT_DATA_DIR: dataDir, ...database.env }, ['--to', 'postgresql', '--dry-run'])
    expect((await run.exited).code, run.output()).toBe(0)
    expect(run.output()).toMatch(/public\.kv_entries\s+100000 rows/)
    expect(run.output()).toContain('migrations to apply there first: 0000_database_instance')
    expect(await database.query(`select to_regclass('drizzle.__drizzle_migrations') as t`)).toEqual([{ t: null }])
    expect(await selectionOf(dataDir)).toBe('pglite')
  })

  it('killed midway leaves the source intact and the target empty; a rerun copies everything, verified, and switches the selection', async () => {
    const database = await target()
    const env = { PERSISTENT_DATA_DIR: dataDir, ...database.env }
    const slow = transferCli({ ...env, GROUNDWORK_TRANSFER_TEST_DELAY_MS: '500' }, ['--to', 'postgresql'])
    await waitFor('the copy of kv_entries to start', slow, 60_000, async () => (slow.output().includes('public.kv_entries: 10000 of 100000 rows') ? true : undefined))
    slow.child.kill('SIGKILL')
    expect((await slow.exited).signal).toBe('SIGKILL')
    expect(await database.query(`select to_regclass('public.kv_entries') as kv, to_regclass('drizzle.__drizzle_migrations') as journal`)).toEqual([{ kv: null, journal: null }])
    expect(await selectionOf(dataDir)).toBe('pglite')
    expect(await digestPglite(join(dataDir, 'pglite'))).toEqual(source)

    const rerun = transferCli(env, ['--to', 'postgresql'])
    expect((await rerun.exited).code, rerun.output()).toBe(0)
    // Our five tables and pg-boss's (created empty with the embedded database); the rows are all ours.
    const copied = /copied (\d+) tables \((\d+) rows\); row counts and checksums match/.exec(rerun.output())
    expect(Number(copied?.[1])).toBeGreaterThan(5)
    expect(Number(copied?.[2])).toBe(Object.values(source).reduce((n, t) => n + t.rows, 0))
    expect(rerun.output()).toContain('to go back: stop the server, then "mv')
    expect(rerun.output()).toContain('their key is not in the database')
    expect(await digestPostgres(database.url)).toEqual(source)
    expect(await selectionOf(dataDir)).toBe('postgresql')
    expect(JSON.parse(await readFile(join(dataDir, 'db.selection.json.bak'), 'utf8')).type).toBe('pglite')
    expect(await exists(join(dataDir, 'pglite'))).toBe(true)

    // The encrypted setting reads back on the target with the same key file.
    const connection = await openConnection('postgresql', testConfig({ PERSISTENT_DATA_DIR: dataDir, ...database.env }), pino({ level: 'silent' }))
    try {
      expect(await (await settingsOn(connection.db, dataDir, 'postgresql')).get('smtp.password')).toBe(SMTP_PASSWORD)
    } finally {
      await connection.close()
    }

    // And back: a copy of that PostgreSQL database into a new embedded one, the selection left alone.
    const copy = join(await tempDir(), 'copy')
    // What a killed earlier copy left beside it is cleared once this one holds the lock.
    const leftover = join(copy, '..', '.copy.transfer-99999')
    await mkdir(leftover)
    const back = transferCli(env, ['--to', 'pglite', '--data-dir', copy])
    expect((await back.exited).code, back.output()).toBe(0)
    expect(await digestPglite(copy)).toEqual(source)
    expect(await exists(leftover)).toBe(false)
    expect(await selectionOf(dataDir)).toBe('postgresql')
  }, 300_000)
})
