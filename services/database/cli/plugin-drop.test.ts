import { sql } from 'drizzle-orm'
import { describe, expect } from 'vitest'
import { buildTestApp, itNoPostgres, itOnKind, tempDir } from '../../../test/helpers/app.js'
import { databaseForTest } from '../../../test/helpers/postgres-apps.js'
import { dbCli } from '../../../test/helpers/cli.js'
import { KINDS } from '../../../test/helpers/connections.js'
import { PLUGIN_FOLDERS } from '../../../test/helpers/plugins.js'
import { rowsOf } from '../results.js'

describe('npm run db -- plugin drop', () => {
  itNoPostgres('asks for the id again before touching anything, and refuses an installed plugin', async () => {
    const env = { PERSISTENT_DATA_DIR: await tempDir() }
    const unconfirmed = await dbCli(env, ['plugin', 'drop', 'castoff'])
    expect(unconfirmed).toMatchObject({ code: 2, err: expect.stringContaining('Repeat the id to confirm: npm run db -- plugin drop castoff --confirm castoff') })
    const installed = await dbCli(env, ['plugin', 'drop', 'notes', '--confirm', 'notes'])
    expect(installed).toMatchObject({ code: 1, err: expect.stringContaining('Plugin "notes" is installed: remove its folder plugins/notes/') })
    expect(await dbCli(env, ['plugin', 'remove', 'x'])).toMatchObject({ code: 2, err: expect.stringContaining('the only one is "drop"') })
    // Told before the prompt and before the database is opened (no selection here: opening it would fail otherwise).
    expect(await dbCli(env, ['plugin', 'drop', 'Bad-ID', '--confirm', 'Bad-ID'])).toMatchObject({
      code: 2,
      err: expect.stringContaining('db plugin: "Bad-ID" is not a plugin id: an id is 2 to 31 characters: a-z first, then a-z, 0-9, _, never "__"'),
    })
  })

  for (const kind of KINDS) {
    itOnKind(kind)(`drops a removed plugin's schema, data and role on ${kind}, with the server stopped`, async () => {
      const dataDir = await tempDir()
      const env: Record<string, string> = kind === 'postgresql' ? { ...(await databaseForTest()).env, DB_TYPE: 'postgresql', PERSISTENT_DATA_DIR: dataDir } : { PERSISTENT_DATA_DIR: dataDir }
      const t = await buildTestApp(env, { dataDir, seedPglite: kind === 'pglite', config: { pluginsFolder: PLUGIN_FOLDERS.cliDrop } })
      await t.ready()
      await t.app.plugins.context('castoff').getDb().execute(sql`insert into plugin_castoff.loot (what) values ('to be dropped')`)
      await t.close()

      const wrong = await dbCli(env, ['plugin', 'drop', 'castoff', '--confirm', 'notes'])
      expect(wrong).toMatchObject({ code: 1, err: expect.stringContaining('Confirm by repeating the plugin\'s id') })
      const dropped = await dbCli(env, ['plugin', 'drop', 'castoff', '--confirm', 'castoff'])
      expect(dropped).toMatchObject({ code: 0, out: expect.stringMatching(/^dropped plugin castoff: schema plugin_castoff with its tables loot/) })
      const again = await dbCli(env, ['plugin', 'drop', 'castoff', '--confirm', 'castoff'])
      expect(again).toMatchObject({ code: 1, err: expect.stringContaining('There is nothing of plugin "castoff" in this database') })

      const after = await buildTestApp(env, { dataDir, config: { pluginsFolder: PLUGIN_FOLDERS.shipped } })
      try {
        await after.ready()
        expect(after.app.database.status().plugins.map((plugin) => plugin.id)).toEqual(['notes'])
        expect(rowsOf(await after.app.getDb().execute(sql`select to_regnamespace('plugin_castoff') is null as gone`))).toEqual([{ gone: true }])
      } finally {
        await after.close()
      }
    })
  }
})
