import pg from 'pg'
import pino from 'pino'
import { expect, it, onTestFinished, vi } from 'vitest'
import { describePostgres, testConfig } from '../../test/helpers/app.js'
import { eventually } from '../../test/helpers/apps.js'
import { databaseForTest } from '../../test/helpers/postgres-apps.js'
import { startTcpProxy } from '../../test/helpers/tcp-proxy.js'
import { openConnection } from './connection.js'

describePostgres('the PostgreSQL ping (/ready, the outage probe)', () => {
  it('answers within its timeout when the server hangs, and the pool ends the connection the ping hung on', async () => {
    const database = await databaseForTest()
    const proxy = await startTcpProxy(database.env.POSTGRES_HOST!, Number(database.env.POSTGRES_PORT))
    onTestFinished(() => proxy.close())
    const config = testConfig({ ...database.env, POSTGRES_HOST: '127.0.0.1', POSTGRES_PORT: String(proxy.port) })
    // Only this test uses the pool: its one connection (opened by the first query) is idle at the freeze.
    const connection = await openConnection('postgresql', config, pino({ level: 'silent' }))
    onTestFinished(() => connection.close())
    const ended = vi.spyOn(pg.Client.prototype, 'end')
    onTestFinished(() => ended.mockRestore())

    proxy.freeze()
    await expect(connection.ping(300)).rejects.toMatchObject({ code: 'database_unreachable', message: expect.stringContaining('did not answer within 300 ms') })
    // pg's query_timeout (100 ms past the ping's own) ends the hung connection, so the pool never hands it out again.
    await eventually('the hung connection ended', () => ended.mock.calls.length, (count) => count >= 1)

    await proxy.restore()
    await eventually('a ping that answers', () => connection.ping(2_000).then(() => 'answered', (error: Error) => error.message), (outcome) => outcome === 'answered')
  })
})
