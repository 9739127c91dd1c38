import { mkdir, writeFile } from 'node:fs/promises'
import { join } from 'node:path'
import { expect, it } from 'vitest'
import { describeNoPostgres, describePostgres, tempDir } from '../../test/helpers/app.js'
import { databaseForTest } from '../../test/helpers/postgres-apps.js'
import { REAL_TAGS } from '../../test/helpers/migrations.js'
import { seedPgliteSetup } from '../../test/helpers/pglite-template.js'
import { run, ROOT } from '../../test/helpers/processes.js'
import { loadConfig } from '../core/config.js'
import { drizzleKitConfig } from './drizzle-kit-config.js'

const free = { holder: null, take: () => true }

describeNoPostgres('drizzle.config.ts: which database drizzle-kit gets', () => {
  it('needs no database for generate and check, and leaves pgboss and plugin schemas out', async () => {
    const config = loadConfig({ PERSISTENT_DATA_DIR: await tempDir() })
    for (const command of ['generate', 'check', null]) {
      const result = drizzleKitConfig({ config, command, pgliteLock: free })
      expect(result).toEqual({ dialect: 'postgresql', schema: './services/schema.ts', out: './drizzle', schemaFilter: ['public'] })
    }
  })

  it('refuses push, whatever the database', async () => {
    const config = loadConfig({ PERSISTENT_DATA_DIR: await tempDir(), DB_TYPE: 'pglite' })
    expect(() => drizzleKitConfig({ config, command: 'push', pgliteLock: free })).toThrow(/push is refused here: .*npm run db:generate/)
  })

  it('gives the PGlite folder under our lock, the server\'s admin socket when the server holds it, else a refusal', async () => {
    const dir = await tempDir()
    const config = loadConfig({ PERSISTENT_DATA_DIR: dir, DB_TYPE: 'pglite' })
    expect(() => drizzleKitConfig({ config, command: 'migrate', pgliteLock: free })).toThrow(/does not exist yet/)
    await mkdir(join(dir, 'pglite'))
    let taken = false
    expect(drizzleKitConfig({ config, command: 'migrate', pgliteLock: { holder: null, take: () => (taken = true) } })).toMatchObject({ driver: 'pglite', dbCredentials: { url: join(dir, 'pglite') } })
    expect(taken).toBe(true)
    const held = { holder: 'process 42 on this machine', take: () => true }
    expect(() => drizzleKitConfig({ config, command: 'studio', pgliteLock: held })).toThrow(/held by process 42 .*DB_ADMIN_SOCKET=true/)
    await mkdir(join(dir, 'admin-socket'))
    await writeFile(join(dir, 'admin-socket', '.s.PGSQL.5432'), '')
    expect(drizzleKitConfig({ config, command: 'studio', pgliteLock: held })).toMatchObject({ dbCredentials: { host: join(dir, 'admin-socket'), port: 5432, user: 'postgres' } })
  })

  it('reads DATABASE_URL or POSTGRES_* for PostgreSQL, from the selection file too', async () => {
    const dir = await tempDir()
    await writeFile(join(dir, 'db.selection.json'), JSON.stringify({ type: 'postgresql', selectedAt: new Date().toISOString(), version: '1.0' }))
    const config = loadConfig({ PERSISTENT_DATA_DIR: dir, DATABASE_URL: 'postgresql://app:pw@db:5433/appdb' })
    expect(drizzleKitConfig({ config, command: 'migrate', pgliteLock: free })).toMatchObject({ dbCredentials: { host: 'db', port: 5433, user: 'app', password: 'pw', database: 'appdb', ssl: false } })
  })
})

async function drizzleKit(args: string[], env: Record<string, string>) {
  const running = run([join(ROOT, 'node_modules/.bin/drizzle-kit'), ...args], ROOT, { LOG_LEVEL: 'silent', ...env })
  const { code } = await running.exited
  return { code, output: running.output() }
}

describeNoPostgres('drizzle-kit itself with our config', () => {
  it('migrate on a PGlite folder records nothing new on a migrated database, and check passes', async () => {
    const dir = await tempDir()
    await seedPgliteSetup(dir)
    const migrate = await drizzleKit(['migrate'], { PERSISTENT_DATA_DIR: dir })
    expect(migrate.code, migrate.output).toBe(0)
    expect(migrate.output).toContain('migrations applied successfully')
    expect((await drizzleKit(['check'], { PERSISTENT_DATA_DIR: dir })).code).toBe(0)
    const push = await drizzleKit(['push'], { PERSISTENT_DATA_DIR: dir })
    expect(push.code).not.toBe(0)
    expect(push.output).toContain('push is refused here')
  })
})

describePostgres('drizzle-kit migrate on PostgreSQL', () => {
  it('applies our migrations to an empty database, recorded where the server looks for them', async () => {
    const database = await databaseForTest()
    const result = await drizzleKit(['migrate'], { ...database.env, DB_TYPE: 'postgresql', PERSISTENT_DATA_DIR: await tempDir() })
    expect(result.code, result.output).toBe(0)
    expect(await database.query('select count(*)::int as n from drizzle.__drizzle_migrations')).toEqual([{ n: REAL_TAGS.length }])
  })
})
