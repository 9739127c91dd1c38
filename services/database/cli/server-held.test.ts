import { readdir, readFile } from 'node:fs/promises'
import { join } from 'node:path'
import { expect, it, describe } from 'vitest'
import { sql } from 'drizzle-orm'
import { AUTH, tempDir, TEST_ADMIN_TOKEN } from '../../../test/helpers/app.js'
import { closedPort } from '../../../test/helpers/network.js'
import { seedPgliteSetup } from '../../../test/helpers/pglite-template.js'
import { startedAppForTest } from '../../../test/helpers/apps.js'
import { dbCli } from '../../../test/helpers/cli.js'
import { rowsOf } from '../results.js'
import { BACKUP_LOCK_HEADER } from '../schemas.js'
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

  it("backup refuses the copy of another installation's server answering at PORT, and writes nothing", async () => {
    // Two installations on one machine sharing an ADMIN_TOKEN: the CLI of the second is pointed at the first's port.
    const first = await startedAppForTest({}, { seedPglite: true })
    const second = await startedAppForTest({}, { seedPglite: true })
    const firstPort = new URL(await first.app.listen({ host: '127.0.0.1', port: 0 })).port
    const secondPort = new URL(await second.app.listen({ host: '127.0.0.1', port: 0 })).port
    const env = { PERSISTENT_DATA_DIR: second.dataDir, ADMIN_TOKEN: TEST_ADMIN_TOKEN }
    const file = join(second.dataDir, 'copy.tar.gz')

    const wrong = await dbCli({ ...env, PORT: firstPort }, ['backup', file])
    expect(wrong.code).toBe(EXIT.failed)
    expect(wrong.err).toContain(`The server answering at http://127.0.0.1:${firstPort} is another installation's: it does not hold ${join(second.dataDir, 'pglite')}`)
    expect(wrong.err).toContain('Nothing was written.')
    expect(await readdir(second.dataDir)).not.toContainEqual(expect.stringContaining('copy.tar.gz'))
    // Each with a token of its own, the first server refuses the second's: said as such.
    const otherToken = await dbCli({ ...env, PORT: firstPort, ADMIN_TOKEN: 'another-admin-token-'.repeat(2) }, ['backup', file])
    expect(otherToken.code).toBe(EXIT.failed)
    expect(otherToken.err).toContain(`The server at http://127.0.0.1:${firstPort} refused this installation's admin token (from ADMIN_TOKEN): either it is another installation's server`)

    const right = await dbCli({ ...env, PORT: secondPort }, ['backup', file])
    expect(right.code, right.err).toBe(EXIT.ok)
  })

  it("status leaves out the answer of another installation's server at PORT, and says why", async () => {
    const first = await startedAppForTest({}, { seedPglite: true })
    const port = new URL(await first.app.listen({ host: '127.0.0.1', port: 0 })).port
    await first.app.getDb().execute(sql`insert into kv_entries (key, value) values ('first', '1')`)
    // A second installation, stopped: its lock is free, so the embedded server at PORT is not its own.
    const dir = await tempDir()
    await seedPgliteSetup(dir)
    const stopped = await dbCli({ PERSISTENT_DATA_DIR: dir, PORT: port }, ['status', '--json'])
    const report = JSON.parse(stopped.out)
    expect(report.server).toMatchObject({ running: false, phase: null, other: expect.stringContaining(`holds an embedded database, and this installation's is held by no process (${join(dir, 'pglite.lock')} is free)`) })
    expect(report).toMatchObject({ counts_from: 'database', location: join(dir, 'pglite') })
    expect(report.tables).toContainEqual({ table: 'public.kv_entries', rows: 0 })
    expect((await dbCli({ PERSISTENT_DATA_DIR: dir, PORT: port }, ['status'])).out).toContain(`server:      not this installation's at http://127.0.0.1:${port}: the server answering there holds an embedded database`)
    // An installation on PostgreSQL: the embedded server at PORT is not its own either.
    const onPostgres = await dbCli({ PERSISTENT_DATA_DIR: await tempDir(), PORT: port, DB_TYPE: 'postgresql', DATABASE_URL: `postgresql://nobody@127.0.0.1:${await closedPort()}/none` }, ['status', '--json'])
    expect(JSON.parse(onPostgres.out).server.other).toContain('uses the embedded database, and this installation selects PostgreSQL')
  })

  it('GET /api/db/backup with the lock token of another database answers 409 backup_wrong_database before copying', async () => {
    const t = await startedAppForTest({}, { seedPglite: true })
    const backup = (lock: string) => t.app.inject({ method: 'GET', url: '/api/db/backup', headers: { ...AUTH, [BACKUP_LOCK_HEADER]: lock } })
    const refused = await backup('0123456789abcdef')
    expect(refused.statusCode).toBe(409)
    expect(refused.json()).toMatchObject({ error: 'backup_wrong_database', message: expect.stringContaining(`This server holds the embedded database in ${join(t.dataDir, 'pglite')}`) })
    const { token } = JSON.parse(await readFile(join(t.dataDir, 'pglite.lock'), 'utf8')) as { token: string }
    const served = await backup(token)
    expect(served.statusCode).toBe(200)
    expect(served.headers['content-type']).toBe('application/gzip')
  })

  it('the backup endpoint is for the admin only', async () => {
    const t = await startedAppForTest({}, { seedPglite: true })
    const response = await t.app.inject({ method: 'GET', url: '/api/db/backup' })
    expect(response.statusCode).toBe(401)
  })
})
