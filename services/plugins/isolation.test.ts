import { sql } from 'drizzle-orm'
import { expect, it } from 'vitest'
import { AUTH } from '../../test/helpers/app.js'
import { eventually } from '../../test/helpers/apps.js'
import { describeEachKind } from '../../test/helpers/database-kinds.js'
import { PLUGIN_FOLDERS } from '../../test/helpers/plugins.js'
import { driverError } from '../core/errors.js'
import { rowsOf } from '../database/results.js'


async function sqlstate(query: Promise<unknown>): Promise<string | undefined> {
  const error = await query.then(
    () => null,
    (e: unknown) => e,
  )
  if (error === null) throw new Error('the query succeeded; expected the database to refuse it')
  return (driverError(error) as { code?: string }).code
}

describeEachKind(
  'plugins isolated by the database',
  (_kind, app) => {
    const pluginDb = (id: string) => app().app.plugins.context(id).getDb()

    it('runs both plugins after our migrations, each with its tables in its own schema', () => {
      expect(app().app.database.status().plugins).toEqual([
        { id: 'intruder', version: '0.0.1', state: 'running', tables: ['loot'], orphaned: false, error: null },
        { id: 'notes', version: '1.0.0', state: 'running', tables: ['notes'], orphaned: false, error: null },
      ])
    })

    it('each plugin reads and writes its own tables, as its own role', async () => {
      await pluginDb('intruder').execute(sql`insert into plugin_intruder.loot (what) values ('own')`)
      expect(rowsOf(await pluginDb('intruder').execute(sql`select what, current_user as role from plugin_intruder.loot`))).toEqual([{ what: 'own', role: 'groundwork_plugin_intruder' }])
      await pluginDb('notes').execute(sql`insert into plugin_notes.notes (title) values ('mine')`)
      expect(rowsOf(await pluginDb('notes').execute(sql`select title from plugin_notes.notes`))).toEqual([{ title: 'mine' }])
    })

    it('a plugin can neither read nor write a core table: permission denied', async () => {
      for (const id of ['notes', 'intruder']) {
        expect(await sqlstate(pluginDb(id).execute(sql`select * from public.settings`))).toBe('42501')
        expect(await sqlstate(pluginDb(id).execute(sql`insert into public.kv_entries (key, value) values ('x', '1')`))).toBe('42501')
        expect(await sqlstate(pluginDb(id).execute(sql`select * from drizzle.__drizzle_migrations`))).toBe('42501')
      }
    })

    it("a plugin can neither read nor write another plugin's table, either way: permission denied", async () => {
      expect(await sqlstate(pluginDb('intruder').execute(sql`select * from plugin_notes.notes`))).toBe('42501')
      expect(await sqlstate(pluginDb('intruder').execute(sql`insert into plugin_notes.notes (title) values ('planted')`))).toBe('42501')
      expect(await sqlstate(pluginDb('notes').execute(sql`select * from plugin_intruder.loot`))).toBe('42501')
      expect(await sqlstate(pluginDb('notes').execute(sql`delete from plugin_intruder.loot`))).toBe('42501')
    })

    it("a plugin's transaction runs as its role too, and the core's queries afterwards do not (the core may read plugin tables)", async () => {
      const role = await pluginDb('intruder').transaction(async (tx) => {
        await tx.execute(sql`insert into plugin_intruder.loot (what) values ('in a transaction')`)
        return rowsOf<{ role: string }>(await tx.execute(sql`select current_user as role`))[0]?.role
      })
      expect(role).toBe('groundwork_plugin_intruder')
      expect(await sqlstate(pluginDb('intruder').transaction((tx) => tx.execute(sql`select * from public.instance`)))).toBe('42501')
      const core = rowsOf<{ role: string }>(await app().app.getDb().execute(sql`select current_user as role`))[0]?.role
      expect(core).not.toMatch(/^groundwork_plugin_/)
      expect(rowsOf(await app().app.getDb().execute(sql`select title from plugin_notes.notes where title = 'mine'`))).toEqual([{ title: 'mine' }])
    })

    it('a plugin cannot create a schema of its own, or tables outside its schema', async () => {
      expect(await sqlstate(pluginDb('notes').execute(sql`create schema plugin_sneaky`))).toBe('42501')
      expect(await sqlstate(pluginDb('notes').execute(sql`create table plugin_intruder.planted (id int)`))).toBe('42501')
    })

    it("serves the notes plugin's routes under /api/plugins/notes/, on its own table", async () => {
      const created = await app().app.inject({ method: 'POST', url: '/api/plugins/notes/notes', headers: AUTH, payload: { title: 'hello', body: 'from a route' } })
      expect(created.statusCode).toBe(201)
      expect(created.json()).toMatchObject({ title: 'hello', body: 'from a route' })
      const listed = await app().app.inject({ method: 'GET', url: '/api/plugins/notes/notes', headers: AUTH })
      expect(listed.json()).toEqual(expect.arrayContaining([expect.objectContaining({ title: 'hello' })]))
      expect((await app().app.inject({ method: 'GET', url: '/api/plugins/notes/notes' })).statusCode).toBe(401)
    })

    it("offers the plugin's setting through the settings service as plugins.notes.retention_days, and the plugin reads it", async () => {
      const put = await app().app.inject({ method: 'PUT', url: '/api/settings/plugins.notes.retention_days', headers: AUTH, payload: { value: 30 } })
      expect(put.statusCode).toBe(200)
      expect(await app().app.plugins.context('notes').settings.get('retention_days')).toBe(30)
      // make_interval(days => 1.5) fails, and a million days is out of range: the prune would fail every day.
      for (const value of [1.5, 1e6]) {
        const refused = await app().app.inject({ method: 'PUT', url: '/api/settings/plugins.notes.retention_days', headers: AUTH, payload: { value } })
        expect(refused.json()).toMatchObject({ error: 'invalid_setting_value', message: 'plugins.notes.retention_days: expected a whole number from 0 to 36500' })
      }
      expect(await app().app.plugins.context('notes').settings.get('retention_days')).toBe(30)
      await app().app.getDb().execute(sql`insert into plugin_notes.notes (title, created_at) values ('ancient', now() - interval '40 days')`)
      const pruned = await app().app.inject({ method: 'POST', url: '/api/plugins/notes/prune', headers: AUTH })
      expect(pruned.json()).toEqual({ removed: 1 })
    })

    it("runs the notes plugin's job on the jobs service, under its queue plugins.notes.prune_old_notes, with the plugin's database and settings", async () => {
      const { app: server } = app()
      const { queues } = (await server.inject({ method: 'GET', url: '/api/jobs', headers: AUTH })).json() as { queues: { name: string; schedule: string | null }[] }
      expect(queues).toContainEqual(expect.objectContaining({ name: 'plugins.notes.prune_old_notes', schedule: '17 3 * * *' }))
      await server.inject({ method: 'PUT', url: '/api/settings/plugins.notes.retention_days', headers: AUTH, payload: { value: 7 } })
      await server.getDb().execute(sql`insert into plugin_notes.notes (title, created_at) values ('stale', now() - interval '8 days')`)
      await server.jobs.sendNow('plugins.notes.prune_old_notes', {})
      await eventually(
        'the job to prune the stale note',
        async () => rowsOf<{ n: number }>(await server.getDb().execute(sql`select count(*)::int as n from plugin_notes.notes where title = 'stale'`)),
        (rows) => rows[0]?.n === 0,
      )
    })
  },
  {},
  { config: { pluginsFolder: PLUGIN_FOLDERS.pair } },
)
