import { mkdir, rm, writeFile } from 'node:fs/promises'
import { join } from 'node:path'
import { drizzle } from 'drizzle-orm/node-postgres'
import { migrate as drizzleMigrate } from 'drizzle-orm/node-postgres/migrator'
import pg from 'pg'
import { sql } from 'drizzle-orm'
import pino from 'pino'
import { afterAll, afterEach, beforeAll, beforeEach, expect, it } from 'vitest'
import { describeNoPostgres, describePostgres, tempDir, testConfig } from '../../test/helpers/app.js'
import { REAL_MIGRATIONS, REAL_TAGS, migrationsWith } from '../../test/helpers/migrations.js'
import { createTestDatabase, type TestDatabase } from '../../test/helpers/postgres.js'
import * as schema from '../schema.js'
import { openConnection, type Database, type DatabaseConnection } from './connection.js'
import { inspectMigrations, migrate, readMigrations } from './migrator.js'
import { rowsOf } from './results.js'

describeNoPostgres('reading the migrations folder', () => {
  it('reads drizzle-kit\'s journal: tags, timestamps, the same hash drizzle records, statements split at breakpoints', async () => {
    const files = await readMigrations(REAL_MIGRATIONS)
    expect(files.map((file) => file.tag)).toEqual(REAL_TAGS)
    expect(REAL_TAGS[0]).toBe('0000_database_instance')
    expect(files[0]!.hash).toMatch(/^[0-9a-f]{64}$/)
    expect(files[0]!.statements.join('')).toContain('CREATE TABLE "instance"')
  })

  it('treats a missing folder as an error that says the folder must ship, never as nothing to do', async () => {
    await expect(readMigrations(join(await tempDir(), 'drizzle'))).rejects.toMatchObject({
      code: 'migrations_missing',
      message: expect.stringMatching(/_journal\.json is missing.*must ship with the code/),
    })
  })

  it('treats an empty journal as an error', async () => {
    const folder = join(await tempDir(), 'drizzle')
    await mkdir(join(folder, 'meta'), { recursive: true })
    await writeFile(join(folder, 'meta', '_journal.json'), JSON.stringify({ version: '7', dialect: 'postgresql', entries: [] }))
    await expect(readMigrations(folder)).rejects.toMatchObject({ code: 'migrations_missing', message: expect.stringContaining('lists no migrations') })
  })

  it('names a migration file the journal lists but the folder lacks', async () => {
    const folder = await migrationsWith([{ tag: '0001_extra', sql: 'select 1' }])
    await rm(join(folder, '0001_extra.sql'))
    await expect(readMigrations(folder)).rejects.toMatchObject({ code: 'migrations_missing', message: expect.stringContaining('0001_extra.sql') })
  })
})

/** A database with nothing in it for each test, on one kind. */
interface Fixture {
  db(): Database
  query<T extends Record<string, unknown>>(text: string): Promise<T[]>
}

/** What the migrator promises on both kinds. */
function migratorContract(fixture: Fixture) {
  const journal = () => fixture.query<{ hash: string; created_at: string }>('select hash, created_at::text from drizzle.__drizzle_migrations order by id')

  it('applies every migration once and records it in drizzle\'s own journal table', async () => {
    const files = await readMigrations(REAL_MIGRATIONS)
    const applied: string[] = []
    const result = await migrate(fixture.db(), files, (tag) => applied.push(tag))
    expect(result).toMatchObject({ total: REAL_TAGS.length, applied: REAL_TAGS.length, pending: [], appliedNow: REAL_TAGS })
    expect(applied).toEqual(REAL_TAGS)
    expect(await journal()).toEqual(files.map((file) => ({ hash: file.hash, created_at: String(file.when) })))

    const again = await migrate(fixture.db(), files)
    expect(again.appliedNow).toEqual([])
    expect(await journal()).toHaveLength(REAL_TAGS.length)
  })

  it('rolls back the whole run when a migration fails, and names the migration and statement', async () => {
    const folder = await migrationsWith([
      { tag: '0001_good', sql: 'create table good_one (id int primary key)' },
      { tag: '0002_bad', sql: 'create table bad_one (id int primary key);\n--> statement-breakpoint\nalter table no_such_table add column x int;' },
    ])
    const error = await migrate(fixture.db(), await readMigrations(folder)).catch((e: unknown) => e)
    expect(error).toMatchObject({ code: 'migration_failed', details: { migration: '0002_bad' } })
    expect((error as Error).message).toMatch(/^Migration 0002_bad failed at statement 2 of 2: relation "no_such_table" does not exist\. Nothing was applied/)

    const tables = await fixture.query("select table_name from information_schema.tables where table_schema = 'public'")
    expect(tables).toEqual([])
    expect(await fixture.query("select to_regclass('drizzle.__drizzle_migrations')::text as t")).toEqual([{ t: null }])
  })

  it('refuses a never-applied migration older than the newest applied one, which drizzle would skip silently', async () => {
    const files = await readMigrations(await migrationsWith([{ tag: '0001_late', sql: 'create table late (id int)' }]))
    await migrate(fixture.db(), files)
    const branch = await migrationsWith([
      { tag: '0001_late', sql: 'create table late (id int)' },
      { tag: '0002_from_branch', sql: 'create table branch (id int)', when: files[0]!.when + 500 },
    ])
    const branchFiles = (await readMigrations(branch)).sort((a, b) => a.when - b.when)
    await expect(migrate(fixture.db(), branchFiles)).rejects.toMatchObject({
      code: 'migrations_out_of_order',
      details: { migrations: ['0002_from_branch'] },
      message: expect.stringContaining('npm run db:generate'),
    })
    expect(await fixture.query("select to_regclass('public.branch')::text as t")).toEqual([{ t: null }])
  })

  it('inspects without changing anything: a fresh database shows every migration pending', async () => {
    const files = await readMigrations(REAL_MIGRATIONS)
    expect(await inspectMigrations(fixture.db(), files)).toEqual({ total: REAL_TAGS.length, applied: 0, pending: REAL_TAGS, unknown: 0, changed: [] })
    expect(await fixture.query("select to_regclass('drizzle.__drizzle_migrations')::text as t")).toEqual([{ t: null }])
    await migrate(fixture.db(), files)
    expect(await inspectMigrations(fixture.db(), files)).toMatchObject({ applied: REAL_TAGS.length, pending: [] })
  })

  it('names an applied migration whose file was edited afterwards, since the database never got the edit', async () => {
    const folder = await migrationsWith([{ tag: '0001_edited', sql: 'create table edited (id int)' }])
    await migrate(fixture.db(), await readMigrations(folder))
    await writeFile(join(folder, '0001_edited.sql'), 'create table edited (id int, extra text)')
    expect(await inspectMigrations(fixture.db(), await readMigrations(folder))).toMatchObject({ applied: REAL_TAGS.length + 1, pending: [], changed: ['0001_edited'] })
  })

  it('counts migrations the database has but this build does not know (a newer version migrated it)', async () => {
    await migrate(fixture.db(), await readMigrations(await migrationsWith([{ tag: '0001_future', sql: 'create table future (id int)' }])))
    expect(await inspectMigrations(fixture.db(), await readMigrations(REAL_MIGRATIONS))).toMatchObject({ applied: REAL_TAGS.length, pending: [], unknown: 1 })
  })
}

describeNoPostgres('migrating an embedded (PGlite) database', () => {
  // A fresh PGlite costs seconds and ~860 MB: one per file, emptied before each test instead.
  let connection: DatabaseConnection
  beforeAll(async () => {
    connection = await openConnection('pglite', testConfig({ PERSISTENT_DATA_DIR: await tempDir() }), pino({ level: 'silent' }))
  }, 120_000)
  afterAll(() => connection?.close())
  beforeEach(async () => {
    for (const statement of ['drop schema if exists drizzle cascade', 'drop schema public cascade', 'create schema public']) await connection.db.execute(sql.raw(statement))
  })

  migratorContract({
    db: () => connection.db,
    query: async (text) => rowsOf(await connection.db.execute(sql.raw(text))),
  })
})

describePostgres('migrating a PostgreSQL database', () => {
  let database: TestDatabase
  let db: Database
  const pools: pg.Pool[] = []

  function connect() {
    const created = new pg.Pool({ connectionString: database.url, max: 3 })
    // pool.end() resolves before its clients' sockets close; the drop (with force) may then end one.
    created.on('error', () => undefined)
    pools.push(created)
    return { pool: created, db: drizzle({ client: created, schema }) as unknown as Database }
  }

  beforeEach(async () => {
    database = await createTestDatabase()
    ;({ db } = connect())
  })
  afterEach(async () => {
    await Promise.all(pools.splice(0).map((p) => p.end()))
    await database.drop()
  })

  migratorContract({ db: () => db, query: (text) => database.query(text) })

  // These need several connections at once, which PGlite (one connection, in-process) never has.
  it('agrees with drizzle\'s own migrator on what is applied, in both directions', async () => {
    const { pool } = connect()
    await drizzleMigrate(drizzle({ client: pool }), { migrationsFolder: REAL_MIGRATIONS })
    expect((await migrate(db, await readMigrations(REAL_MIGRATIONS))).appliedNow).toEqual([])

    const folder = await migrationsWith([{ tag: '0001_widgets', sql: 'create table widgets (id int primary key)' }])
    expect((await migrate(db, await readMigrations(folder))).appliedNow).toEqual(['0001_widgets'])
    await drizzleMigrate(drizzle({ client: pool }), { migrationsFolder: folder })
    expect(await database.query('select id from drizzle.__drizzle_migrations')).toHaveLength(REAL_TAGS.length + 1)
  })

  it('lets several instances migrate one fresh database at once, applying each migration exactly once', async () => {
    const files = await readMigrations(await migrationsWith([{ tag: '0001_counter', sql: 'create table counter (id int primary key)' }]))
    const instances = Array.from({ length: 4 }, () => connect().db)
    const results = await Promise.all(instances.map((instanceDb) => migrate(instanceDb, files)))
    expect(results.map((r) => r.appliedNow.length).sort()).toEqual([0, 0, 0, REAL_TAGS.length + 1])
    expect(await database.query('select id from drizzle.__drizzle_migrations')).toHaveLength(REAL_TAGS.length + 1)
  })
})
