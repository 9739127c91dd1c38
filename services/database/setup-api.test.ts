import { join } from 'node:path'
import { afterAll, beforeAll, expect, it } from 'vitest'
import { AUTH, buildTestApp, describeNoPostgres, describePostgres, exists, type TestApp } from '../../test/helpers/app.js'
import { appForTest, postSetup } from '../../test/helpers/apps.js'
import { databaseForTest } from '../../test/helpers/postgres-apps.js'
import { REAL_TAGS } from '../../test/helpers/migrations.js'

describeNoPostgres('POST /api/db/setup guards and validation', () => {
  let t: TestApp
  beforeAll(async () => {
    t = await buildTestApp()
  })
  afterAll(() => t.close())

  const setup = (headers: Record<string, string>, payload: unknown, url = '/api/db/setup') =>
    t.app.inject({ method: 'POST', url, headers: { 'content-type': 'application/json', ...headers }, payload: typeof payload === 'string' ? payload : JSON.stringify(payload) })

  it('answers 401 without a token, saying how to send it and where to find it', async () => {
    const res = await setup({}, { type: 'pglite' })
    expect(res.statusCode).toBe(401)
    expect(res.json()).toEqual({ error: 'unauthorized', message: expect.stringMatching(/needs the admin token.*Authorization: Bearer <token>.*ADMIN_TOKEN/) })
  })

  it('answers 401 for a wrong token', async () => {
    const res = await setup({ authorization: 'Bearer not-the-token-at-all' }, { type: 'pglite' })
    expect(res.statusCode).toBe(401)
    expect(res.json().message).toMatch(/^The admin token is wrong\./)
  })

  it('never accepts the token from the query string', async () => {
    const res = await setup({}, { type: 'pglite' }, `/api/db/setup?token=${encodeURIComponent(AUTH.authorization.slice(7))}`)
    expect(res.statusCode).toBe(401)
  })

  it.each([
    ['an unknown type', { type: 'mysql' }],
    ['a missing type', {}],
    ['an extra field', { type: 'pglite', force: true }],
    ['a body that is not JSON', '{"type": '],
  ])('answers 400 listing the supported types for %s', async (_name, payload) => {
    const res = await setup(AUTH, payload)
    expect(res.statusCode).toBe(400)
    expect(res.json()).toMatchObject({ error: 'invalid_request', supported_types: ['pglite', 'postgresql'], message: expect.stringContaining('one of: pglite, postgresql') })
  })

  it('answers 400 naming each missing POSTGRES_* variable, writing nothing', async () => {
    const res = await setup(AUTH, { type: 'postgresql' })
    expect(res.statusCode).toBe(400)
    expect(res.json()).toMatchObject({ error: 'missing_settings', missing: ['POSTGRES_HOST', 'POSTGRES_DATABASE', 'POSTGRES_USER'] })
    expect(res.json().message).toContain('POSTGRES_HOST, POSTGRES_DATABASE, POSTGRES_USER are not set')
    expect(await exists(join(t.dataDir, 'db.selection.json'))).toBe(false)
    expect(t.app.database.status()).toMatchObject({ configured: false, setup_in_progress: false })
  })
})

describeNoPostgres('repeated wrong tokens', () => {
  it('slow down with 429 and Retry-After, while a right token from elsewhere still works', async () => {
    const t = await buildTestApp()
    try {
      const attempt = (token: string, ip = '203.0.113.9') =>
        t.app.inject({ method: 'POST', url: '/api/db/setup', remoteAddress: ip, headers: { authorization: `Bearer ${token}` }, payload: { type: 'nope' } })
      const codes = []
      for (let i = 0; i < 7; i++) codes.push((await attempt(`wrong-${i}`)).statusCode)
      expect(codes).toEqual([401, 401, 401, 401, 401, 401, 429])
      const blocked = await attempt(AUTH.authorization.slice(7))
      expect(blocked.statusCode).toBe(429)
      expect(Number(blocked.headers['retry-after'])).toBeGreaterThan(0)
      expect(blocked.json().message).toMatch(/Too many wrong admin tokens.*Wait \d+ s/)
      expect((await attempt(AUTH.authorization.slice(7), '198.51.100.7')).statusCode).toBe(400)
    } finally {
      await t.close()
    }
  })
})

describePostgres('setting up PostgreSQL through the API', () => {
  it('runs exactly one of several simultaneous setups; the others get 409', async () => {
    const database = await databaseForTest()
    const t = await appForTest(database.env)
    const responses = await Promise.all(Array.from({ length: 4 }, () => postSetup(t, 'postgresql')))
    const codes = responses.map((r) => r.statusCode).sort()
    expect(codes).toEqual([200, 409, 409, 409])
    const conflicts = responses.filter((r) => r.statusCode === 409).map((r) => r.json().error)
    expect(conflicts.every((code) => code === 'setup_in_progress' || code === 'already_configured')).toBe(true)
    expect(await database.query('select count(*)::int as n from drizzle.__drizzle_migrations')).toEqual([{ n: REAL_TAGS.length }])
  })

  it('leaves a ready database, its instance record and the selection file', async () => {
    const database = await databaseForTest()
    const t = await appForTest(database.env)
    expect((await postSetup(t, 'postgresql')).statusCode).toBe(200)
    expect(t.app.database.status()).toMatchObject({ configured: true, initialized: true, type: 'postgresql', source: 'file' })
    expect(await database.query('select database_type from instance')).toEqual([{ database_type: 'postgresql' }])
    expect((await t.app.getDb().query.instance.findFirst())?.databaseType).toBe('postgresql')
    expect(await exists(join(t.dataDir, 'db.selection.json'))).toBe(true)
    expect((await t.app.inject({ method: 'GET', url: '/ready' })).statusCode).toBe(200)
  })

  // The machine's server ignores passwords; postgres-login-tls.test.ts repeats this where one is checked.
  it('keeps the password out of the answer, the status and every log line of a setup', async () => {
    const database = await databaseForTest()
    // A trust-auth server ignores the password; one from TEST_DATABASE_URL brings its own.
    const password = database.env.POSTGRES_PASSWORD ?? 'pg-password-never-shown'
    const t = await appForTest({ ...database.env, POSTGRES_PASSWORD: password })
    const res = await postSetup(t, 'postgresql')
    expect(res.statusCode).toBe(200)
    const status = (await t.app.inject({ method: 'GET', url: '/api/db/status' })).body
    expect(t.logs.join('')).toContain('database set up')
    for (const text of [res.body, status, t.logs.join('')]) {
      expect(text).not.toContain(password)
      expect(text).not.toContain(AUTH.authorization.slice(7))
    }
  })
})
