import { join } from 'node:path'
import { sql } from 'drizzle-orm'
import pino from 'pino'
import { expect, it, onTestFinished } from 'vitest'
import { describePostgres, tempDir, testConfig } from '../../test/helpers/app.js'
import { databaseForTest } from '../../test/helpers/postgres-apps.js'
import { openTestConnection } from '../../test/helpers/connections.js'
import { PLUGIN_FOLDERS } from '../../test/helpers/plugins.js'
import { openConnection } from '../database/connection.js'
import { rowsOf } from '../database/results.js'
import { restoreLogicalBackup, writeLogicalBackup } from '../database/transfer/logical-backup.js'
import { PARTS } from '../database/transfer/parts.js'
import { loadPlugins } from './loader.js'
import { migratePlugin } from './migrations.js'
import { openPglitePluginDatabase } from './plugin-database.js'
import { pluginParts } from './transfer-part.js'

describePostgres("a plugin's data in a logical backup", () => {
  it('carries the notes plugin\'s rows from the embedded database into PostgreSQL, where its role owns them again', async () => {
    const plugins = await loadPlugins({ pluginsFolder: PLUGIN_FOLDERS.shipped, pluginPackages: [] })
    const parts = [...PARTS, ...pluginParts(plugins)]
    const source = await openTestConnection('pglite')
    onTestFinished(() => source.close())
    await migratePlugin(source.connection.db, plugins[0]!)
    const notes = openPglitePluginDatabase('notes', {}, source.connection.pglite!)
    await notes.db.execute(sql`insert into plugin_notes.notes (title, body) values ('carried', 'across kinds')`)

    const file = join(await tempDir(), 'with-plugin.gz')
    const written = await writeLogicalBackup(source.connection.db, file, { parts })
    expect(written.rows).toBeGreaterThanOrEqual(1)

    const database = await databaseForTest()
    const target = await openConnection('postgresql', testConfig({ PERSISTENT_DATA_DIR: await tempDir(), ...database.env }), pino({ level: 'silent' }))
    onTestFinished(() => target.close())
    await restoreLogicalBackup(file, target.db, { parts })
    expect(await database.query(`select title, body from plugin_notes.notes`)).toEqual([{ title: 'carried', body: 'across kinds' }])
    expect(await database.query(`select tableowner from pg_tables where schemaname = 'plugin_notes' order by tablename`)).toEqual([{ tableowner: 'groundwork_plugin_notes' }, { tableowner: 'groundwork_plugin_notes' }])
    expect(await database.query(`select count(*)::int as n from plugin_notes.__drizzle_migrations`)).toEqual([{ n: 1 }])
    expect(rowsOf(await target.db.execute(sql`select current_user as role`))).not.toEqual([{ role: 'groundwork_plugin_notes' }])
  })
})
