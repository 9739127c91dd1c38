import { join } from 'node:path'
import { expect, it, describe } from 'vitest'
import { sql } from 'drizzle-orm'
import { TEST_ADMIN_TOKEN } from '../../../test/helpers/app.js'
import { startedAppForTest } from '../../../test/helpers/apps.js'
import { dbCli } from '../../../test/helpers/cli.js'
import { rowsOf } from '../results.js'
import { EXIT } from './command.js'

describe('db commands while the server holds the embedded database', () => {
  it('status asks the server, backup goes through GET /api/db/backup, shell and verify never open the folder', async () => {
    const t = await startedAppForTest({ DB_ADMIN_SOCKET: 'true' }, { seedPglite: true })
    await t.app.getDb().execute(sql`insert into kv_entries (key, value) values ('live', '1')`)
    const address = await t.app.listen({ host: '127.0.0.1', port: 0 })
    const env = { PERSISTENT_DATA_DIR: t.dataDir, ADMIN_TOKEN: TEST_ADMIN_TOKEN, PORT: new URL(address).port }

    const status = await dbCli(env, ['status', '--json'])
    expect(status.code).toBe(EXIT.ok)
    expect(JSON.parse(status.out)).toMatchObject({ type: 'pglite', server: { running: true, phase: 'ready' }, counts_from: 'unavailable', migrations: { pending: [] } })
    expect(JSON.parse(status.out).counts_note).toContain('this same process holds the embedded database')

    const file = join(t.dataDir, 'live.tar.gz')
    const backup = await dbCli(env, ['backup', file])
    expect(backup.code, backup.err).toBe(EXIT.ok)
    expect(backup.out).toContain('asking it for the copy')
    expect(backup.out).toMatch(/checked: 3 migrations, \d+ rows in 5 tables/)

    const shell = await dbCli(env, ['shell', '--command', "insert into kv_entries (key, value) values ('via-socket', '2')"])
    expect(shell.code).toBe(EXIT.ok)
    expect(rowsOf(await t.app.getDb().execute(sql`select key from kv_entries order by key`))).toEqual([{ key: 'live' }, { key: 'via-socket' }])

    const verify = await dbCli(env, ['verify'])
    expect(verify.code).toBe(EXIT.failed)
    expect(verify.err).toContain('stop the server')
    expect((await dbCli(env, ['restore', file])).err).toContain('stop the server first')
  })

  it('the backup endpoint is for the admin only', async () => {
    const t = await startedAppForTest({}, { seedPglite: true })
    const response = await t.app.inject({ method: 'GET', url: '/api/db/backup' })
    expect(response.statusCode).toBe(401)
  })
})
