import { randomBytes } from 'node:crypto'
import { sql } from 'drizzle-orm'
import { expect, it, onTestFinished } from 'vitest'
import { AUTH, describePostgres } from '../../test/helpers/app.js'
import { startedAppForTest } from '../../test/helpers/apps.js'
import { databaseOfPlainUser } from '../../test/helpers/postgres-apps.js'
import { PLUGIN_FOLDERS } from '../../test/helpers/plugins.js'
import { adminQuery, createTestDatabase } from '../../test/helpers/postgres.js'
import { driverError } from '../core/errors.js'
import { rowsOf } from '../database/results.js'

describePostgres('plugins on a PostgreSQL user without CREATEROLE', () => {
  it('refuses to run plugins unisolated, says what to grant, keeps the core working; runs them isolated once an administrator grants their roles', async () => {
    const { database, user } = await databaseOfPlainUser('gw_plain')
    const env = { ...database.env, POSTGRES_USER: user, DB_TYPE: 'postgresql' }

    const refused = await startedAppForTest(env, { config: { pluginsFolder: PLUGIN_FOLDERS.pair } })
    const { plugins, services } = refused.app.database.status()
    expect(plugins.map(({ id, state }) => ({ id, state }))).toEqual([
      { id: 'intruder', state: 'refused' },
      { id: 'notes', state: 'refused' },
    ])
    expect(plugins[0]!.error).toContain(`user "${user}" may not create roles`)
    expect(plugins[0]!.error).toContain(`ALTER ROLE "${user}" CREATEROLE;`)
    expect(plugins[0]!.error).toContain(`CREATE ROLE groundwork_plugin_notes NOLOGIN; GRANT groundwork_plugin_notes TO "${user}";`)
    expect(services.find((service) => service.name === 'plugins')).toMatchObject({ state: 'running', ok: false, problems: [expect.stringMatching(/^Plugins run as their own PostgreSQL role .* intruder, notes were not loaded \(the rest of the server works\)/)] })
    expect((await refused.app.inject({ method: 'GET', url: '/api/settings', headers: AUTH })).statusCode).toBe(200)
    const route = await refused.app.inject({ method: 'GET', url: '/api/plugins/notes/notes', headers: AUTH })
    expect(route.statusCode).toBe(503)
    expect(route.json()).toMatchObject({ error: 'plugin_not_ready', message: expect.stringContaining('may not create roles') })
    expect(await database.query(`select nspname from pg_namespace where nspname like 'plugin\\_%'`)).toEqual([])
    await refused.close()

    for (const role of ['groundwork_plugin_notes', 'groundwork_plugin_intruder']) {
      await adminQuery(`do $$ begin create role ${role} nologin; exception when duplicate_object or unique_violation then null; end $$`)
      await adminQuery(`grant ${role} to ${user}`)
    }
    const granted = await startedAppForTest(env, { config: { pluginsFolder: PLUGIN_FOLDERS.pair } })
    expect(granted.app.database.status().plugins.map(({ id, state }) => ({ id, state }))).toEqual([
      { id: 'intruder', state: 'running' },
      { id: 'notes', state: 'running' },
    ])
    const created = await granted.app.inject({ method: 'POST', url: '/api/plugins/notes/notes', headers: AUTH, payload: { title: 'isolated' } })
    expect(created.statusCode).toBe(201)
    const denied = await granted.app.plugins
      .context('intruder')
      .getDb()
      .execute(sql`select * from plugin_notes.notes`)
      .catch((error: unknown) => driverError(error))
    expect(denied).toMatchObject({ code: '42501' })
  })

  it('lets a user with CREATEROLE (not a superuser) create the plugin\'s role, act as it, and run the plugin as it', async () => {
    const user = `gw_creator_${randomBytes(4).toString('hex')}`
    const database = await createTestDatabase()
    await adminQuery(`create role ${user} login createrole`)
    onTestFinished(async () => {
      await adminQuery('drop role if exists groundwork_plugin_solo_creator')
      await adminQuery(`drop role if exists ${user}`)
    })
    onTestFinished(() => database.drop())
    await adminQuery(`alter database "${database.name}" owner to ${user}`)

    const t = await startedAppForTest({ ...database.env, POSTGRES_USER: user, DB_TYPE: 'postgresql' }, { config: { pluginsFolder: PLUGIN_FOLDERS.solo } })
    expect(t.app.database.status().plugins).toMatchObject([{ id: 'solo_creator', state: 'running', error: null }])
    const db = t.app.plugins.context('solo_creator').getDb()
    expect(rowsOf(await db.execute(sql`select current_user as role, session_user as login`))).toEqual([{ role: 'groundwork_plugin_solo_creator', login: user }])
    expect(await db.execute(sql`select * from public.settings`).catch((error: unknown) => driverError(error))).toMatchObject({ code: '42501' })
    await t.close()
  })
})
