import { existsSync } from 'node:fs'
import { readFile } from 'node:fs/promises'
import { join } from 'node:path'
import { describe, expect, it, onTestFinished } from 'vitest'
import { closedPort, startBlackhole } from '../../test/helpers/network.js'
import { AUTH, TEST_ADMIN_TOKEN } from '../../test/helpers/app.js'
import { startedAppForTest } from '../../test/helpers/apps.js'
import { REAL_TAGS } from '../../test/helpers/migrations.js'

/** The app with the setup page's API, ready; closed when the test ends. */
const app = (env: Record<string, string | undefined> = {}) => startedAppForTest(env)

describe('the setup page API: the admin guard', () => {
  it.each([
    ['GET', '/api/setup/options'],
    ['POST', '/api/setup/preflight'],
  ] as const)('%s %s answers 401 without the token and with a wrong one, saying where the token is', async (method, url) => {
    const t = await app()
    for (const headers of [{}, { authorization: 'Bearer wrong-token-wrong-token' }]) {
      const res = await t.app.inject({ method, url, headers })
      expect(res.statusCode).toBe(401)
      expect(res.json()).toMatchObject({ error: 'unauthorized', message: expect.stringContaining('ADMIN_TOKEN') })
    }
  })

  it('never accepts the token from a query string', async () => {
    const t = await app()
    for (const query of [`token=${TEST_ADMIN_TOKEN}`, `access_token=${TEST_ADMIN_TOKEN}`, `authorization=Bearer%20${TEST_ADMIN_TOKEN}`]) {
      const res = await t.app.inject({ method: 'GET', url: `/api/setup/options?${query}` })
      expect(res.statusCode).toBe(401)
    }
  })

  it('slows down repeated wrong tokens with 429 and retry-after, even for the right token meanwhile', async () => {
    const t = await app()
    const wrong = { authorization: 'Bearer wrong-token-wrong-token' }
    for (let i = 0; i < 6; i++) await t.app.inject({ method: 'GET', url: '/api/setup/options', headers: wrong })
    const blocked = await t.app.inject({ method: 'GET', url: '/api/setup/options', headers: AUTH })
    expect(blocked.statusCode).toBe(429)
    expect(Number(blocked.headers['retry-after'])).toBeGreaterThan(0)
    expect(blocked.json()).toMatchObject({ error: 'too_many_attempts' })
  })
})

describe('GET /api/setup/token-hint', () => {
  it('names the ADMIN_TOKEN variable when the token comes from it', async () => {
    const t = await app()
    const res = await t.app.inject({ method: 'GET', url: '/api/setup/token-hint' })
    expect(res.json()).toEqual({ source: 'environment', where: 'the ADMIN_TOKEN environment variable of the server', command: null })
    expect(res.body).not.toContain(TEST_ADMIN_TOKEN)
  })

  it('names the generated file and how to print it, never the token in it', async () => {
    const t = await app({ ADMIN_TOKEN: undefined })
    const file = join(t.dataDir, 'admin.token')
    const token = (await readFile(file, 'utf8')).trim()
    const res = await t.app.inject({ method: 'GET', url: '/api/setup/token-hint' })
    expect(res.json()).toEqual({ source: 'file', where: file, command: `cat ${file}` })
    expect(res.body).not.toContain(token)
  })
})

describe('GET /api/setup/options', () => {
  it('offers both kinds and the PostgreSQL settings found, with the password only as set', async () => {
    const password = 'pw-that-must-never-leak-9f3b'
    const t = await app({ POSTGRES_HOST: 'db.internal', POSTGRES_PORT: '6543', POSTGRES_DATABASE: 'app', POSTGRES_USER: 'appuser', POSTGRES_PASSWORD: password, POSTGRES_SSL: 'require' })
    const res = await t.app.inject({ method: 'GET', url: '/api/setup/options', headers: AUTH })
    expect(res.statusCode).toBe(200)
    const body = res.json()
    expect(body.kinds.map((kind: { type: string; available: boolean }) => [kind.type, kind.available])).toEqual([
      ['pglite', true],
      ['postgresql', true],
    ])
    expect(body.postgresql).toEqual({
      source: 'POSTGRES_*',
      host: 'db.internal',
      port: 6543,
      database: 'app',
      user: 'appuser',
      ssl: 'require',
      passwordSet: true,
      missing: [],
      how_to_set: null,
      example: null,
    })
    expect(body.pglite_data_dir).toBe(join(t.dataDir, 'pglite'))
    expect(body.migrations_total).toBe(REAL_TAGS.length)
    expect(res.body).not.toContain(password)
    expect(t.logs.join('')).not.toContain(password)
  })

  it('reads DATABASE_URL without ever returning its password', async () => {
    const t = await app({ DATABASE_URL: 'postgresql://owner:url-secret-7c1d@pg.example.com:5433/shop?sslmode=verify-full' })
    const res = await t.app.inject({ method: 'GET', url: '/api/setup/options', headers: AUTH })
    expect(res.json().postgresql).toMatchObject({ source: 'DATABASE_URL', host: 'pg.example.com', port: 5433, database: 'shop', user: 'owner', ssl: 'verify-full', passwordSet: true })
    expect(res.body).not.toContain('url-secret-7c1d')
  })

  it('says which variables are missing and how to set them, with an example to fill in', async () => {
    const t = await app({ POSTGRES_HOST: 'db.internal' })
    const { kinds, postgresql } = (await t.app.inject({ method: 'GET', url: '/api/setup/options', headers: AUTH })).json()
    expect(kinds[1]).toMatchObject({ type: 'postgresql', available: false, unavailable_reason: expect.stringContaining('POSTGRES_DATABASE, POSTGRES_USER are not set') })
    expect(postgresql.missing).toEqual(['POSTGRES_DATABASE', 'POSTGRES_USER'])
    expect(postgresql.how_to_set).toMatch(/environment the server starts with.*docker-compose\.yml.*restart it/)
    expect(postgresql.example).toBe(
      'POSTGRES_HOST=db.internal\nPOSTGRES_PORT=5432\nPOSTGRES_DATABASE=<database name>\nPOSTGRES_USER=<user name>\nPOSTGRES_PASSWORD=<the password>\nPOSTGRES_SSL=disable',
    )
  })
})

describe('POST /api/setup/preflight without a usable server', () => {
  it('fails the settings check and skips the rest when variables are missing', async () => {
    const t = await app()
    const res = await t.app.inject({ method: 'POST', url: '/api/setup/preflight', headers: AUTH })
    expect(res.statusCode).toBe(200)
    const report = res.json()
    expect(report.ok).toBe(false)
    expect(report.checks.map((check: { status: string }) => check.status)).toEqual(['failed', ...Array(7).fill('skipped')])
    expect(report.checks[0]).toMatchObject({ check: 'settings', ok: false, detail: 'POSTGRES_HOST, POSTGRES_DATABASE, POSTGRES_USER are not set.' })
    expect(report.checks[1].detail).toBe('Not checked: "Connection settings complete" must pass first.')
  })

  it('reports a closed port as unreachable, with the time taken and the variables to fix, and writes nothing', async () => {
    const port = await closedPort()
    const t = await app({ POSTGRES_HOST: '127.0.0.1', POSTGRES_PORT: String(port), POSTGRES_DATABASE: 'app', POSTGRES_USER: 'app' })
    const report = (await t.app.inject({ method: 'POST', url: '/api/setup/preflight', headers: AUTH })).json()
    const reachable = report.checks[1]
    expect(reachable).toMatchObject({ check: 'reachable', ok: false, status: 'failed', detail: `Nothing accepts connections at 127.0.0.1:${port} (connection refused).` })
    expect(reachable.duration_ms).toEqual(expect.any(Number))
    expect(reachable.remedy).toContain(`correct POSTGRES_HOST and POSTGRES_PORT (now 127.0.0.1 and ${port})`)
    expect(report.checks.slice(2).every((check: { status: string }) => check.status === 'skipped')).toBe(true)
    expect(existsSync(join(t.dataDir, 'db.selection.json'))).toBe(false)
    expect(existsSync(join(t.dataDir, 'pglite'))).toBe(false)
  })

  it('reports a host name that does not resolve', async () => {
    const t = await app({ POSTGRES_HOST: 'no-such-host.invalid', POSTGRES_DATABASE: 'app', POSTGRES_USER: 'app' })
    const reachable = (await t.app.inject({ method: 'POST', url: '/api/setup/preflight', headers: AUTH })).json().checks[1]
    expect(reachable.detail).toMatch(/^The host name "no-such-host.invalid" does not resolve \((ENOTFOUND|EAI_AGAIN)\)\.$/)
    expect(reachable.remedy).toContain('Correct POSTGRES_HOST')
  })

  it('gives up after 3 s on a server that accepts and never answers, even with a longer POSTGRES_CONNECT_TIMEOUT_MS', async () => {
    const hole = await startBlackhole()
    onTestFinished(() => hole.close())
    const t = await app({ POSTGRES_HOST: '127.0.0.1', POSTGRES_PORT: String(hole.port), POSTGRES_DATABASE: 'app', POSTGRES_USER: 'app', POSTGRES_CONNECT_TIMEOUT_MS: '20000' })
    const started = Date.now()
    const res = await t.app.inject({ method: 'POST', url: '/api/setup/preflight', headers: AUTH })
    const took = Date.now() - started
    expect(took).toBeGreaterThanOrEqual(2_900)
    expect(took).toBeLessThan(4_500)
    const checks = res.json().checks
    expect(checks[1]).toMatchObject({ check: 'reachable', status: 'passed' })
    expect(checks[2]).toMatchObject({
      check: 'login',
      status: 'failed',
      detail: expect.stringMatching(new RegExp(`^127\\.0\\.0\\.1:${hole.port} accepted the connection but did not complete PostgreSQL's handshake`)),
      remedy: expect.stringContaining('is a PostgreSQL server and not another service'),
    })
  })

  it('names DATABASE_URL in the remedy when the settings come from it', async () => {
    const port = await closedPort()
    const t = await app({ DATABASE_URL: `postgresql://app:secret-in-url@127.0.0.1:${port}/app` })
    const res = await t.app.inject({ method: 'POST', url: '/api/setup/preflight', headers: AUTH })
    expect(res.json().checks[1].remedy).toContain('correct DATABASE_URL')
    expect(res.body).not.toContain('secret-in-url')
  })
})
