import { sql } from 'drizzle-orm'
import { afterEach, describe, expect, it, onTestFinished } from 'vitest'
import { buildTestApp, describePostgres, type TestApp } from '../../test/helpers/app.js'
import { createTestDatabase } from '../../test/helpers/postgres.js'
import { startTcpProxy, type TcpProxy } from '../../test/helpers/tcp-proxy.js'
import type { DatabaseStatus } from './schemas.js'

const apps: TestApp[] = []
afterEach(async () => {
  await Promise.all(apps.splice(0).map((t) => t.close()))
})

async function started(...args: Parameters<typeof buildTestApp>) {
  const t = await buildTestApp(...args)
  apps.push(t)
  await t.ready()
  return t
}

/** GET /api/db/status, and how long it took. */
async function status(t: TestApp): Promise<{ body: DatabaseStatus; ms: number }> {
  const startedAt = performance.now()
  const res = await t.app.inject({ method: 'GET', url: '/api/db/status' })
  return { body: res.json() as DatabaseStatus, ms: performance.now() - startedAt }
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
  const db = await createTestDatabase()
  onTestFinished(() => db.drop())
  const proxy = await startTcpProxy(db.env.POSTGRES_HOST!, Number(db.env.POSTGRES_PORT))
  onTestFinished(() => proxy.close())
  const t = await started({ ...db.env, POSTGRES_HOST: '127.0.0.1', POSTGRES_PORT: String(proxy.port), DB_TYPE: 'postgresql' })
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

  it('answers from memory while the server hangs, keeps the outage start, and recovers by itself', async () => {
    const { t, proxy } = await postgresBehindProxy()
    proxy.freeze()
    expect((await t.app.inject({ method: 'GET', url: '/ready' })).statusCode).toBe(503)
    const first = await status(t)
    expect(first.body).toMatchObject({ phase: 'failed', initialized: false, last_error: { code: 'database_unreachable', message: expect.stringContaining('did not answer within 2000 ms') } })
    const since = first.body.last_error!.since

    // A probe takes the 2 s ping timeout; the status must not wait on one.
    const probing = t.app.inject({ method: 'GET', url: '/ready' })
    for (let i = 0; i < 5; i++) expect((await status(t)).ms).toBeLessThan(200)
    await probing
    expect((await status(t)).body.last_error).toMatchObject({ since })

    await proxy.restore()
    expect(await statusUntil(t, 'ready')).toMatchObject({ initialized: true, last_error: null })
  })
})

describe('GET /api/db/status while the embedded database does not answer', () => {
  it('shows the problem /ready found, and says ready again by itself once it answers', async () => {
    const t = await started({}, { seedPglite: true })
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
