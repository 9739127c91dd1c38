import { sql } from 'drizzle-orm'
import { expect, it } from 'vitest'
import { eventually } from '../../test/helpers/apps.js'
import { describeEachKind } from '../../test/helpers/database-kinds.js'

describeEachKind('the daily settings key check', (_kind, app) => {
  it('is scheduled once a day', async () => {
    const boss = app().app.jobs
    expect((await boss.listQueues()).find((queue) => queue.name === 'settings.key-check')?.schedule).toBe('17 3 * * *')
  })

  it('reports encrypted values written with another key, and clears the report once they are set again', async () => {
    const { app: server } = app()
    await server.settings.set('smtp.password', 'a-password-for-the-test')
    const settingsProblems = () => server.database.status().services.find((service) => service.name === 'settings')?.problems ?? []
    expect(await server.settings.checkEncryptionKey()).toEqual({ key_matches: true, unreadable_values: 0 })

    // As if another instance, with another key, had written it.
    await server.getDb().execute(sql`update settings set key_id = 'another-key-id00' where key = 'smtp.password'`)
    await server.jobs.sendNow('settings.key-check', {})
    const problems = await eventually('the check to report the value', settingsProblems, (list) => list.length > 0)
    expect(problems[0]).toContain('1 encrypted setting was written with another encryption key')
    expect(problems[0]).not.toContain('a-password-for-the-test')

    await server.settings.set('smtp.password', 'set-again')
    await server.jobs.sendNow('settings.key-check', {})
    await eventually('the report to clear', settingsProblems, (list) => list.length === 0)
  })
})
