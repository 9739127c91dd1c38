import { sql } from 'drizzle-orm'
import { expect, it } from 'vitest'
import { describeNoPostgres, describePostgres, type TestApp } from '../../test/helpers/app.js'
import { eventually, startedAppForTest } from '../../test/helpers/apps.js'
import { postgresAppBehindProxy } from '../../test/helpers/postgres-apps.js'
import type { TcpProxy } from '../../test/helpers/tcp-proxy.js'


const ready = (t: TestApp) => t.app.inject({ method: 'GET', url: '/ready' })

/** Log lines at warn level or above. */
const problems = (t: TestApp) => t.logs.filter((line) => (JSON.parse(line) as { level: number }).level >= 40)

async function postgresBehindProxy(): Promise<{ t: TestApp; proxy: TcpProxy }> {
  const { t, proxy } = await postgresAppBehindProxy()
  expect((await ready(t)).statusCode).toBe(200)
  return { t, proxy }
}

describeNoPostgres('GET /ready', () => {
  it('declares what it can answer: 200 and 503', async () => {
    const t = await startedAppForTest()
    const spec = (await t.app.inject({ method: 'GET', url: '/api/openapi.json' })).json()
    expect(Object.keys(spec.paths['/ready'].get.responses).sort()).toEqual(['200', '503'])
  })

  it('answers 503 with the reason before setup, and logs nothing per probe', async () => {
    const t = await startedAppForTest()
    const before = problems(t).length
    for (let i = 0; i < 5; i++) {
      const res = await ready(t)
      expect(res.statusCode).toBe(503)
      expect(res.json()).toEqual({ error: 'database_not_ready', message: expect.stringContaining('No database is set up yet') })
    }
    expect(problems(t).slice(before)).toEqual([])
  })

  it('answers 503 naming the embedded database while a long transaction holds its only connection, then 200', async () => {
    const t = await startedAppForTest({}, { seedPglite: true })
    let release: () => void = () => undefined
    const held = t.app.getDb().transaction(async (tx) => {
      await tx.execute(sql`select 1`)
      await new Promise<void>((resolve) => (release = resolve))
    })
    try {
      const res = await ready(t)
      expect(res.statusCode).toBe(503)
      expect(res.json()).toEqual({
        error: 'database_unreachable',
        message: `The embedded database in ${t.dataDir}/pglite did not answer within 2000 ms: a long transaction may be holding its only connection.`,
      })
    } finally {
      release()
      await held
    }
    expect((await ready(t)).statusCode).toBe(200)
  })
})

describePostgres('GET /ready while PostgreSQL is down', () => {
  it('answers 503 with the reason when the server is gone, logs it once, and 200 once it is back', async () => {
    const { t, proxy } = await postgresBehindProxy()
    await proxy.cut()
    const first = await ready(t)
    expect(first.statusCode).toBe(503)
    expect(first.json()).toEqual({
      error: 'database_unreachable',
      message: expect.stringMatching(new RegExp(`^Could not reach PostgreSQL at 127\\.0\\.0\\.1:${proxy.port} \\((ECONNREFUSED|Connection terminated unexpectedly)\\)\\.`)),
    })
    const afterFirst = problems(t).length
    for (let i = 0; i < 10; i++) expect((await ready(t)).statusCode).toBe(503)
    expect(problems(t).length).toBe(afterFirst)
    expect(t.logs.filter((line) => line.includes('stopped answering'))).toHaveLength(1)
    expect(t.logs.filter((line) => line.includes('"stack"'))).toEqual([])

    await proxy.restore()
    await eventually('200 from /ready', async () => (await ready(t)).statusCode, (code) => code === 200)
    expect(t.logs.filter((line) => line.includes('answers again'))).toHaveLength(1)
  })

  it('answers 503 within the ping timeout when the server hangs, logged once', async () => {
    const { t, proxy } = await postgresBehindProxy()
    proxy.freeze()
    for (let i = 0; i < 2; i++) {
      const startedAt = Date.now()
      const res = await ready(t)
      expect(Date.now() - startedAt).toBeLessThan(4_000)
      expect(res.statusCode).toBe(503)
      expect(res.json()).toEqual({
        error: 'database_unreachable',
        message: `PostgreSQL at 127.0.0.1:${proxy.port} did not answer within 2000 ms. Check that it runs and is not overloaded; the server keeps checking by itself.`,
      })
    }
    expect(t.logs.filter((line) => line.includes('stopped answering'))).toHaveLength(1)
    await proxy.restore()
    await eventually('200 from /ready', async () => (await ready(t)).statusCode, (code) => code === 200)
  })
})
