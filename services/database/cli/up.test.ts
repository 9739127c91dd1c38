import { readdir } from 'node:fs/promises'
import { join } from 'node:path'
import { afterAll, beforeAll, expect, it } from 'vitest'
import { describeNoPostgres, describePostgres, tempDir } from '../../../test/helpers/app.js'
import { databaseForTest, databaseOfPlainUser } from '../../../test/helpers/postgres-apps.js'
import { dbCli } from '../../../test/helpers/cli.js'
import { PLUGIN_FOLDERS } from '../../../test/helpers/plugins.js'
import { closedPort } from '../../../test/helpers/network.js'
import { REAL_TAGS } from '../../../test/helpers/migrations.js'
import { createTestDatabase, type TestDatabase } from '../../../test/helpers/postgres.js'
import { EXIT } from './command.js'
import { runTs } from '../../../test/helpers/processes.js'

const dbUp = async (env: Record<string, string>) => {
  const run = runTs('services/database/cli/main.ts', { LOG_LEVEL: 'info', ...env }, ['up'])
  const { code } = await run.exited
  return { code, output: run.output() }
}

describeNoPostgres('npm run db -- up (db:up)', () => {
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

describePostgres('npm run db -- up and the installed plugins, on PostgreSQL', () => {
  it('migrates each installed plugin after ours, as its own role, then finds nothing to do', async () => {
    const database = await databaseForTest()
    const env = { ...database.env, DB_TYPE: 'postgresql', PERSISTENT_DATA_DIR: await tempDir() }
    const first = await dbCli(env, ['up'], { pluginsFolder: PLUGIN_FOLDERS.shipped })
    expect(first.code, first.err).toBe(EXIT.ok)
    expect(first.out.indexOf('applied 0000_notes of plugin notes')).toBeGreaterThan(first.out.indexOf(`applied ${REAL_TAGS.at(-1)}`))
    expect(await database.query(`select tablename, tableowner from pg_tables where schemaname = 'plugin_notes' order by tablename`)).toEqual([
      { tablename: '__drizzle_migrations', tableowner: 'groundwork_plugin_notes' },
      { tablename: 'notes', tableowner: 'groundwork_plugin_notes' },
    ])
    const second = await dbCli(env, ['up'], { pluginsFolder: PLUGIN_FOLDERS.shipped })
    expect(second.code).toBe(EXIT.ok)
    expect(second.out).toContain('plugin notes is up to date (1 migrations applied)')
    expect(second.out).not.toContain('applied 0000')
  })

  it('exits 1 listing a plugin that cannot load, before applying anything', async () => {
    const database = await databaseForTest()
    const env = { ...database.env, DB_TYPE: 'postgresql', PERSISTENT_DATA_DIR: await tempDir() }
    const run = await dbCli(env, ['up'], { pluginsFolder: PLUGIN_FOLDERS.invalid })
    expect(run.code).toBe(EXIT.failed)
    expect(run.err).toContain('db up failed: Invalid plugins:')
    expect(run.err).toContain('Fix or remove these plugins and start again.')
    expect(run.out).not.toContain('applied')
    expect(await database.query(`select to_regclass('drizzle.__drizzle_migrations') is null as untouched`)).toEqual([{ untouched: true }])
  })

  it('exits 1 naming the plugin whose migration fails; ours stay applied and nothing of the plugin is left', async () => {
    const database = await databaseForTest()
    const env = { ...database.env, DB_TYPE: 'postgresql', PERSISTENT_DATA_DIR: await tempDir() }
    const run = await dbCli(env, ['up'], { pluginsFolder: PLUGIN_FOLDERS.meddler })
    expect(run.code).toBe(EXIT.failed)
    expect(run.err).toMatch(/Plugin meddler: Migration 0000_meddle failed at statement 2 of 2: (must be owner of|permission denied for) table settings\. Nothing was applied .* Our migrations are applied\./)
    expect(await database.query('select count(*)::int as n from drizzle.__drizzle_migrations')).toEqual([{ n: REAL_TAGS.length }])
    expect(await database.query(`select to_regnamespace('plugin_meddler') is null as gone`)).toEqual([{ gone: true }])
  })

  it('exits 1 with the SQL to run when the user may not create the plugins\' roles, after applying ours', async () => {
    const { database, user } = await databaseOfPlainUser('gw_up')
    const env = { ...database.env, POSTGRES_USER: user, DB_TYPE: 'postgresql', PERSISTENT_DATA_DIR: await tempDir() }
    const run = await dbCli(env, ['up'], { pluginsFolder: PLUGIN_FOLDERS.shipped })
    expect(run.code).toBe(EXIT.failed)
    expect(run.err).toContain(`Our migrations are applied; the plugins' are not: plugins run as their own PostgreSQL role, and user "${user}" may not create roles (notes).`)
    expect(run.err).toContain(`CREATE ROLE groundwork_plugin_notes NOLOGIN; GRANT groundwork_plugin_notes TO "${user}";`)
    expect(await database.query('select count(*)::int as n from drizzle.__drizzle_migrations')).toEqual([{ n: REAL_TAGS.length }])
    expect(await database.query(`select to_regnamespace('plugin_notes') is null as gone`)).toEqual([{ gone: true }])
  })
})

describeNoPostgres('npm run db -- up and the installed plugins, on the embedded database', () => {
  it('takes a checked backup before migrating a plugin that alone is pending, and none once nothing is', async () => {
    const dir = await tempDir()
    const env = { PERSISTENT_DATA_DIR: dir, DB_TYPE: 'pglite' }
    const created = await dbCli(env, ['up'], { pluginsFolder: null })
    expect(created.code, created.err).toBe(EXIT.ok)
    expect(created.out).not.toContain('plugin')

    const withPlugin = await dbCli(env, ['up'], { pluginsFolder: PLUGIN_FOLDERS.shipped })
    expect(withPlugin.code, withPlugin.err).toBe(EXIT.ok)
    expect(withPlugin.out).toMatch(/backup written to .*backups\/pglite-.*\.tar\.gz/)
    expect(withPlugin.out).toContain('applied 0000_notes of plugin notes')
    expect(withPlugin.out).toContain(`the database is up to date (${REAL_TAGS.length} migrations applied)`)

    const again = await dbCli(env, ['up'], { pluginsFolder: PLUGIN_FOLDERS.shipped })
    expect(again.code).toBe(EXIT.ok)
    expect(again.out).toContain('plugin notes is up to date (1 migrations applied)')
    expect(again.out).not.toContain('backup written')
    expect(await readdir(join(dir, 'backups'))).toHaveLength(1)
  })
})
