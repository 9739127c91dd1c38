import { describe, expect, it, onTestFinished } from 'vitest'
import { appForTest, eventually } from '../../test/helpers/apps.js'
import { closedPort, startBlackhole } from '../../test/helpers/network.js'

const postgresAt = (port: number, extra: Record<string, string> = {}) => ({
  DB_TYPE: 'postgresql',
  POSTGRES_HOST: '127.0.0.1',
  POSTGRES_PORT: String(port),
  POSTGRES_USER: 'app',
  POSTGRES_DATABASE: 'app',
  ...extra,
})

interface Failure {
  time: number
  retryInMs: number
}

/** The "database not usable … Retrying" lines, in order. */
const failures = (logs: string[]): Failure[] =>
  logs
    .map((line) => JSON.parse(line) as { msg?: string; time: number; retryInMs?: number })
    .filter((entry) => entry.msg?.startsWith('database not usable') && typeof entry.retryInMs === 'number')
    .map((entry) => ({ time: entry.time, retryInMs: entry.retryInMs! }))

describe('a configured database that cannot be reached at startup', () => {
  it('is "connecting" while the first attempt runs, and the status answers at once meanwhile', async () => {
    const hole = await startBlackhole()
    onTestFinished(() => hole.close())
    const t = await appForTest(postgresAt(hole.port, { POSTGRES_CONNECT_TIMEOUT_MS: '1500' }))
    await t.app.ready()
    await hole.connected()
    const asked = Date.now()
    const status = await t.app.inject({ method: 'GET', url: '/api/db/status' })
    expect(Date.now() - asked).toBeLessThan(500)
    expect(status.json()).toMatchObject({ configured: true, initialized: false, phase: 'connecting', last_error: null })
    expect(() => t.app.getDb()).toThrow(/The postgresql database is starting/)

    await t.app.database.settled()
    expect(t.app.database.status()).toMatchObject({ phase: 'failed', last_error: { code: 'database_unreachable' } })
  })

  it('retries with backoff: 1 s, then 2 s, then 4 s, with the error in the status throughout', async () => {
    const port = await closedPort()
    const t = await appForTest(postgresAt(port))
    await t.ready()
    expect(t.app.database.status()).toMatchObject({ phase: 'failed', initialized: false, last_error: { code: 'database_unreachable', message: expect.stringContaining(`127.0.0.1:${port}`) } })
    const seen = await eventually('three failed attempts', () => failures(t.logs), (list) => list.length >= 3, 15_000)
    expect(seen.slice(0, 3).map((failure) => failure.retryInMs)).toEqual([1_000, 2_000, 4_000])
    // Each attempt comes after the delay the previous one announced.
    expect(seen[1]!.time - seen[0]!.time).toBeGreaterThanOrEqual(1_000)
    expect(seen[2]!.time - seen[1]!.time).toBeGreaterThanOrEqual(2_000)
    expect(t.app.database.status()).toMatchObject({ phase: 'failed', last_error: { code: 'database_unreachable' } })
  }, 30_000)

  it('is "closed" once the app closes: no more attempts, and getDb() says the server is shutting down', async () => {
    const t = await appForTest(postgresAt(await closedPort()))
    await t.ready()
    expect(failures(t.logs)).toHaveLength(1)
    await t.app.close()
    expect(t.app.database.status()).toMatchObject({ phase: 'closed', initialized: false })
    expect(() => t.app.getDb()).toThrow(/shutting down/)
    // The retry was due after 1 s: wait past it.
    await new Promise((resolve) => setTimeout(resolve, 1_500))
    expect(failures(t.logs)).toHaveLength(1)
  })
})
