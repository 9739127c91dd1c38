import { writeFile } from 'node:fs/promises'
import { join } from 'node:path'
import Fastify from 'fastify'
import { afterEach, expect, it } from 'vitest'
import { AUTH, buildTestApp, describeNoPostgres, describePostgres, tempDir, type TestApp, testConfig } from '../../test/helpers/app.js'
import { createTestDatabase, type TestDatabase } from '../../test/helpers/postgres.js'
import adminAuth from '../admin-auth/plugin.js'
import core from '../core/plugin.js'
import database from '../database/plugin.js'
import jobs from '../jobs/plugin.js'
import { defineSettingsGroup } from './definition.js'
import settings from './plugin.js'

const apps: TestApp[] = []
const databases: TestDatabase[] = []
afterEach(async () => {
  await Promise.all(apps.splice(0).map((t) => t.close()))
  await Promise.all(databases.splice(0).map((d) => d.drop()))
})

describeNoPostgres('the settings module at startup', () => {
  it('refuses to build the app on a bad definition, naming the module and the key', async () => {
    const bad = defineSettingsGroup({
      id: 'mail', name: 'Mail', description: '', sort_order: 0,
      settings: [{ key: 'mail.port', type: 'number', default: '587', description: '', encrypted: false, required: true }],
    })
    const app = Fastify({ logger: false })
    await app.register(core, { config: testConfig({ PERSISTENT_DATA_DIR: await tempDir() }) })
    await app.register(adminAuth)
    await app.register(database)
    await app.register(jobs)
    await expect(app.register(settings, { definitions: { 'mail-module': bad } }).ready()).rejects.toThrow(
      'module "mail-module", key "mail.port": the default "587" is not a number',
    )
    await app.close()
  })
})

describeNoPostgres('the settings module with a damaged key file', () => {
  it('starts the server, reports the file in the status and the log, and answers 503 for secrets until it is fixed', async () => {
    const dataDir = await tempDir()
    await writeFile(join(dataDir, 'encryption.key'), 'not a key\n', { mode: 0o600 })
    const t = await buildTestApp({}, { dataDir, seedPglite: true })
    apps.push(t)
    await t.ready()
    const settingsStatus = t.app.database.status().services.find((s) => s.name === 'settings')
    expect(settingsStatus).toMatchObject({ state: 'failed', ok: false, error: expect.stringContaining(`${join(dataDir, 'encryption.key')} is damaged`) })
    expect(t.logs.join('')).toContain('is damaged')
    const res = await t.app.inject({ method: 'PUT', url: '/api/settings/smtp.password', headers: AUTH, payload: { value: 'hunter2-but-longer' } })
    expect(res.statusCode).toBe(503)
    expect(res.json().error).toBe('settings_not_started')
    expect(res.body).not.toContain('hunter2')
    // Unencrypted settings that need no key still answer.
    expect((await t.app.inject({ method: 'GET', url: '/api/settings/smtp.port', headers: AUTH })).statusCode).toBe(200)
  })
})

describePostgres('the settings module on a broken database', () => {
  it('reports a failed initialization in the status and the log instead of swallowing it', async () => {
    const db = await createTestDatabase()
    databases.push(db)
    const first = await buildTestApp({ DB_TYPE: 'postgresql', ...db.env })
    await first.ready()
    await first.close()
    await db.query('drop table settings_groups')

    const t = await buildTestApp({ DB_TYPE: 'postgresql', ...db.env })
    apps.push(t)
    await t.ready()
    const service = t.app.database.status().services.find((s) => s.name === 'settings')
    expect(service).toMatchObject({ state: 'failed', ok: false, error: expect.stringContaining('settings_groups') })
    expect(t.logs.some((l) => l.includes('"level":50') && l.includes('service settings could not start'))).toBe(true)
  })
})
