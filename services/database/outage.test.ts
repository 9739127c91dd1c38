import { sql } from 'drizzle-orm'
import { expect, it } from 'vitest'
import { AUTH, describeNoPostgres, describePostgres, type TestApp } from '../../test/helpers/app.js'
import { startedAppForTest } from '../../test/helpers/apps.js'
import { postgresAppBehindProxy } from '../../test/helpers/postgres-apps.js'
import type { TcpProxy } from '../../test/helpers/tcp-proxy.js'
import type { DatabaseStatus } from './schemas.js'


/** GET /api/db/status. */
async function status(t: TestApp): Promise<{ body: DatabaseStatus }> {
  const res = await t.app.inject({ method: 'GET', url: '/api/db/status' })
  return { body: res.json() as DatabaseStatus }
}

/** Polls the status only: nothing here calls /ready, so whatever changes, the service found out by itself. */
async function statusUntil(t: TestApp, phase: string, deadlineMs = 20_000): Promise<DatabaseStatus> {
  const deadline = Date.now() + deadlineMs
  for (;;) {
    const { body } = await status(t)
    if (body.phase === phase) return body
    if (Date.now() > deadline) throw new Error(`the status did not reach phase ${phase} within ${deadlineMs} ms: ${JSON.stringify(body)}`)
    await new Promise((resolve) => setTimeout(resolve, 100))
  }
}

async function postgresBehindProxy(): Promise<{ t: TestApp; proxy: TcpProxy }> {
  const { t, proxy } = await postgresAppBehindProxy()
  expect((await status(t)).body).toMatchObject({ phase: 'ready', initialized: true, last_error: null })
  return { t, proxy }
}

const ISO_TIME = /^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}Z$/

describePostgres('GET /api/db/status while PostgreSQL is down', () => {
  it('says so from what the pool noticed, with nobody calling /ready, and says ready again by itself', async () => {
    const { t, proxy } = await postgresBehindProxy()
    await proxy.cut()
    const down = await statusUntil(t, 'failed', 10_000)
    expect(down).toMatchObject({
      configured: true,
      initialized: false,
      type: 'postgresql',
      last_error: { code: 'database_unreachable', message: expect.stringContaining(`127.0.0.1:${proxy.port}`), at: expect.stringMatching(ISO_TIME), since: expect.stringMatching(ISO_TIME) },
    })
    // The database is still handed out: a query fails with its own error, not "not ready".
    await expect(t.app.getDb().execute(sql`select 1`)).rejects.toThrow(/select 1/)

    await proxy.restore()
    const back = await statusUntil(t, 'ready')
    expect(back).toMatchObject({ initialized: true, last_error: null })
    await expect(t.app.getDb().execute(sql`select 1`)).resolves.toBeDefined()
  })

  it('answers requests that need it with 503 database_unavailable and a retry delay, not a 500, and serves them again once it is back', async () => {
    const { t, proxy } = await postgresBehindProxy()
    const kv = (method: 'GET' | 'PUT', body?: { value: string }) => t.app.inject({ method, url: '/api/kv/greeting', headers: AUTH, ...(body ? { payload: body } : {}) })
    expect((await kv('PUT', { value: 'hello' })).statusCode).toBe(200)
    await proxy.cut()
    // Once the pool has noticed, every query is refused at connect: nothing reached the server.
    await statusUntil(t, 'failed', 10_000)
    for (const method of ['GET', 'PUT'] as const) {
      const res = await kv(method, method === 'PUT' ? { value: 'changed' } : undefined)
      expect(res.statusCode, res.body).toBe(503)
      expect(res.headers['retry-after']).toBe('5')
      expect(res.json()).toMatchObject({ error: 'database_unavailable', retry_after_s: 5, message: expect.stringContaining(`Could not reach PostgreSQL at 127.0.0.1:${proxy.port}`) })
      expect((res.json() as { message: string }).message).not.toContain('may or may not')
    }
    // Logged as the passing state it is, one line each; the outage itself is the database service's to report.
    const lines = t.logs.filter((line) => line.includes('database_unavailable')).map((line) => JSON.parse(line) as { level: number; err?: unknown })
    expect(lines).toHaveLength(2)
    expect(lines.every((line) => line.level === 40 && line.err === undefined)).toBe(true)
    expect(t.logs.join('')).not.toContain('unhandled error')

    await proxy.restore()
    await statusUntil(t, 'ready')
    const back = await kv('GET')
    expect(back.statusCode).toBe(200)
    // The PUT sent during the outage changed nothing.
    expect(back.json()).toMatchObject({ value: 'hello' })
  })

  it('answers from memory while the server hangs, keeps the outage start, and recovers by itself', async () => {
    const { t, proxy } = await postgresBehindProxy()
    proxy.freeze()
    expect((await t.app.inject({ method: 'GET', url: '/ready' })).statusCode).toBe(503)
    const first = await status(t)
    expect(first.body).toMatchObject({ phase: 'failed', initialized: false, last_error: { code: 'database_unreachable', message: expect.stringContaining('did not answer within 2000 ms') } })
    const since = first.body.last_error!.since

    // A probe hangs until its 2 s ping timeout: statuses that answer while it still hangs made no
    // round trip to the frozen server (proved by order, not by a timing threshold).
    let probeSettled = false
    const probing = t.app.inject({ method: 'GET', url: '/ready' }).finally(() => (probeSettled = true))
    for (let i = 0; i < 5; i++) expect((await status(t)).body.phase).toBe('failed')
    expect(probeSettled).toBe(false)
    await probing
    expect((await status(t)).body.last_error).toMatchObject({ since })

    await proxy.restore()
    expect(await statusUntil(t, 'ready')).toMatchObject({ initialized: true, last_error: null })
  })
})

describeNoPostgres('GET /api/db/status while the embedded database does not answer', () => {
  it('shows the problem /ready found, and says ready again by itself once it answers', async () => {
    const t = await startedAppForTest({}, { seedPglite: true })
    let release: () => void = () => undefined
    const held = t.app.getDb().transaction(async (tx) => {
      await tx.execute(sql`select 1`)
      await new Promise<void>((resolve) => (release = resolve))
    })
    try {
      expect((await t.app.inject({ method: 'GET', url: '/ready' })).statusCode).toBe(503)
      const { body } = await status(t)
      expect(body).toMatchObject({
        phase: 'failed',
        initialized: false,
        last_error: { code: 'database_unreachable', message: expect.stringContaining(`The embedded database in ${t.dataDir}/pglite did not answer`), since: expect.stringMatching(ISO_TIME) },
      })
    } finally {
      release()
      await held
    }
    expect(await statusUntil(t, 'ready')).toMatchObject({ initialized: true, last_error: null })
  })
})
