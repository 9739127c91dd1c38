import { sql } from 'drizzle-orm'
import { expect, it } from 'vitest'
import type { DatabaseType } from '../core/config.js'
import { AUTH, buildTestApp, describeOnKind, tempDir, type TestApp } from '../../test/helpers/app.js'
import { databaseForTest } from '../../test/helpers/postgres-apps.js'
import { KINDS } from '../../test/helpers/connections.js'
import { rowsOf } from '../database/results.js'
import { PLUGIN_FOLDERS } from '../../test/helpers/plugins.js'

/** Opens an app on the same database each time it is called: a restart, with another set of plugins. */
async function restartable(kind: DatabaseType): Promise<(pluginsFolder: string) => Promise<TestApp>> {
  if (kind === 'postgresql') {
    const database = await databaseForTest()
    return async (pluginsFolder) => start(await buildTestApp({ ...database.env, DB_TYPE: 'postgresql' }, { config: { pluginsFolder } }))
  }
  const dataDir = await tempDir()
  let seeded = false
  return async (pluginsFolder) => {
    const t = await buildTestApp({}, { dataDir, seedPglite: !seeded, config: { pluginsFolder } })
    seeded = true
    return start(t)
  }
}

async function start(t: TestApp): Promise<TestApp> {
  await t.ready()
  expect(t.app.database.status().phase).toBe('ready')
  return t
}

const count = async (t: TestApp, table: string) => rowsOf<{ n: number }>(await t.app.getDb().execute(sql.raw(`select count(*)::int as n from ${table}`)))[0]?.n

for (const kind of KINDS) {
  describeOnKind(kind)(`plugin migrations and removal (${kind})`, () => {
    it('keeps a removed plugin\'s schema and data, reports it orphaned, and drops it only when confirmed', async () => {
      const open = await restartable(kind)
      const first = await open(PLUGIN_FOLDERS.removal)
      await first.app.plugins.context('leftover').getDb().execute(sql`insert into plugin_leftover.loot (what) values ('kept')`)
      expect(rowsOf(await first.app.getDb().execute(sql`select count(*)::int as n from plugin_leftover.__drizzle_migrations`))).toEqual([{ n: 1 }])
      await first.close()

      const second = await open(PLUGIN_FOLDERS.shipped)
      try {
        const { plugins } = second.app.database.status()
        expect(plugins).toEqual([
          { id: 'notes', version: '1.0.0', state: 'running', tables: ['notes'], orphaned: false, error: null },
          { id: 'leftover', version: null, state: 'orphaned', tables: ['loot'], orphaned: true, error: expect.stringContaining('plugin drop leftover') },
        ])
        expect(await count(second, 'plugin_leftover.loot')).toBe(1)
        const status = await second.app.inject({ method: 'GET', url: '/api/db/status' })
        expect(status.json().plugins).toEqual(plugins)

        const db = second.app.getDb()
        await expect(second.app.plugins.drop(db, 'notes', 'notes')).rejects.toMatchObject({ code: 'plugin_still_installed', status: 409 })
        await expect(second.app.plugins.drop(db, 'leftover', 'yes')).rejects.toMatchObject({ code: 'plugin_drop_unconfirmed' })
        await expect(second.app.plugins.drop(db, 'ghost', 'ghost')).rejects.toMatchObject({ code: 'plugin_not_found', status: 404 })
        expect(await count(second, 'plugin_leftover.loot')).toBe(1)

        const dropped = await second.app.plugins.drop(db, 'leftover', 'leftover')
        expect(dropped).toMatchObject({ id: 'leftover', tables: ['loot'] })
        if (kind === 'pglite') expect(dropped).toMatchObject({ roleDropped: true, roleKept: null })
        expect(rowsOf(await db.execute(sql`select to_regnamespace('plugin_leftover') is null as gone`))).toEqual([{ gone: true }])
        if (dropped.roleDropped) expect(rowsOf(await db.execute(sql`select count(*)::int as n from pg_roles where rolname = 'groundwork_plugin_leftover'`))).toEqual([{ n: 0 }])
        expect(second.app.database.status().plugins.map((plugin) => plugin.id)).toEqual(['notes'])
        expect(await count(second, 'plugin_notes.notes')).toBe(0)
      } finally {
        await second.close()
      }
    })

    it('refuses a plugin migration that touches a core table: nothing of it stays, the core keeps working', async () => {
      const open = await restartable(kind)
      const t = await open(PLUGIN_FOLDERS.meddler)
      try {
        const [meddler] = t.app.database.status().plugins
        expect(meddler).toMatchObject({ id: 'meddler', state: 'failed', error: expect.stringMatching(/^Migration 0000_meddle failed at statement 2 of 2: (must be owner of|permission denied for) table settings\. Nothing was applied/) })
        expect(t.app.database.status().services.find((service) => service.name === 'plugins')).toMatchObject({ state: 'failed', ok: false })
        expect(rowsOf(await t.app.getDb().execute(sql`select to_regnamespace('plugin_meddler') is null as gone`))).toEqual([{ gone: true }])
        expect(rowsOf(await t.app.getDb().execute(sql`select count(*)::int as n from information_schema.columns where table_name = 'settings' and column_name = 'meddled'`))).toEqual([{ n: 0 }])
        expect((await t.app.inject({ method: 'GET', url: '/api/settings', headers: AUTH })).statusCode).toBe(200)
        expect(() => t.app.plugins.context('meddler').getDb()).toThrow(expect.objectContaining({ code: 'plugin_not_ready', message: expect.stringContaining('Migration 0000_meddle failed') }))
      } finally {
        await t.close()
      }
    })
  })
}
