import { join } from 'node:path'
import { sql } from 'drizzle-orm'
import pino from 'pino'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { AUTH, exists, testConfig } from '../../test/helpers/app.js'
import { appForTest, postSetup } from '../../test/helpers/apps.js'
import { startPrivateCluster, type PrivateCluster } from '../../test/helpers/private-cluster.js'
import { rowsOf } from './results.js'
import { openConnection } from './connection.js'

// The machine's server trusts every login and has no TLS: these run against a cluster of our own
// with scram-sha-256 passwords and a certificate for "localhost" from a throwaway CA.
let cluster: PrivateCluster
let database: string
beforeAll(async () => {
  cluster = await startPrivateCluster()
  // Measured: about 1.2 s on this machine (initdb, certificates, start).
  expect(cluster.startedInMs).toBeLessThan(15_000)
  database = await cluster.createDatabase()
})
afterAll(() => cluster?.stop())

const envFor = (extra: Record<string, string> = {}) => ({
  POSTGRES_HOST: '127.0.0.1',
  POSTGRES_PORT: String(cluster.port),
  POSTGRES_USER: cluster.user,
  POSTGRES_PASSWORD: cluster.password,
  POSTGRES_DATABASE: database,
  ...extra,
})

/** Opens the connection the way setup and startup do; answers whether it is encrypted, or the error. */
async function connectWith(env: Record<string, string>): Promise<{ ssl: boolean } | { code: string; message: string }> {
  let connection
  try {
    connection = await openConnection('postgresql', testConfig(env), pino({ level: 'silent' }))
  } catch (error) {
    return { code: (error as { code: string }).code, message: (error as Error).message }
  }
  try {
    const [row] = rowsOf<{ ssl: boolean }>(await connection.db.execute(sql`select ssl from pg_stat_ssl where pid = pg_backend_pid()`))
    return { ssl: row!.ssl }
  } finally {
    await connection.close()
  }
}

describe('logging in with a password', () => {
  it('connects with the right password', async () => {
    expect(await connectWith(envFor())).toEqual({ ssl: false })
  })

  it('refuses a wrong password as database_auth_failed, naming the user and the variables, never the password', async () => {
    const result = await connectWith(envFor({ POSTGRES_PASSWORD: 'not-the-password-4417' }))
    expect(result).toEqual({
      code: 'database_auth_failed',
      message: `PostgreSQL at 127.0.0.1:${cluster.port} refused the login for user "postgres": wrong or missing password. Check POSTGRES_USER and POSTGRES_PASSWORD.`,
    })
  })

  it('says that no password is set when the server asks for one', async () => {
    const { POSTGRES_PASSWORD: _unset, ...env } = envFor()
    const result = await connectWith(env)
    expect(result).toMatchObject({ code: 'database_auth_failed', message: expect.stringContaining('(no password is set)') })
  })

  it('names DATABASE_URL, not POSTGRES_*, when the wrong password came from it', async () => {
    const result = await connectWith({ DATABASE_URL: `postgresql://postgres:wrong-in-url@127.0.0.1:${cluster.port}/${database}` })
    expect(result).toMatchObject({ code: 'database_auth_failed', message: expect.stringContaining('Check DATABASE_URL and DATABASE_URL') })
    expect(JSON.stringify(result)).not.toContain('wrong-in-url')
  })
})

describe('TLS, by POSTGRES_SSL mode', () => {
  it('require: encrypts without checking the certificate', async () => {
    expect(await connectWith(envFor({ POSTGRES_SSL: 'require' }))).toEqual({ ssl: true })
  })

  it('verify-ca: accepts the right CA whatever the host name', async () => {
    expect(await connectWith(envFor({ POSTGRES_SSL: 'verify-ca', POSTGRES_SSL_CA_FILE: cluster.caFile }))).toEqual({ ssl: true })
  })

  it('verify-ca: refuses a certificate from another CA', async () => {
    const result = await connectWith(envFor({ POSTGRES_SSL: 'verify-ca', POSTGRES_SSL_CA_FILE: cluster.wrongCaFile }))
    expect(result).toMatchObject({ code: 'database_tls_failed', message: expect.stringMatching(/TLS handshake with PostgreSQL at 127\.0\.0\.1:\d+ failed .*POSTGRES_SSL \(now verify-ca\).*POSTGRES_SSL_CA_FILE/) })
  })

  it('verify-ca: refuses a private CA that was not given (the system CAs do not know it)', async () => {
    expect(await connectWith(envFor({ POSTGRES_SSL: 'verify-ca' }))).toMatchObject({ code: 'database_tls_failed' })
  })

  it('verify-full: accepts the right CA and the host name on the certificate', async () => {
    expect(await connectWith(envFor({ POSTGRES_HOST: 'localhost', POSTGRES_SSL: 'verify-full', POSTGRES_SSL_CA_FILE: cluster.caFile }))).toEqual({ ssl: true })
  })

  it('verify-full: refuses the right CA for a host name the certificate does not name', async () => {
    const result = await connectWith(envFor({ POSTGRES_HOST: '127.0.0.1', POSTGRES_SSL: 'verify-full', POSTGRES_SSL_CA_FILE: cluster.caFile }))
    expect(result).toMatchObject({ code: 'database_tls_failed', message: expect.stringContaining('127.0.0.1') })
  })

  it('verify-full: refuses a certificate from another CA, even for the right host name', async () => {
    const result = await connectWith(envFor({ POSTGRES_HOST: 'localhost', POSTGRES_SSL: 'verify-full', POSTGRES_SSL_CA_FILE: cluster.wrongCaFile }))
    expect(result).toMatchObject({ code: 'database_tls_failed', message: expect.stringContaining('(now verify-full)') })
  })

  it('reads sslmode from DATABASE_URL, with the CA from POSTGRES_SSL_CA_FILE', async () => {
    const url = `postgresql://postgres:${cluster.password}@localhost:${cluster.port}/${database}?sslmode=verify-full`
    expect(await connectWith({ DATABASE_URL: url, POSTGRES_SSL_CA_FILE: cluster.caFile })).toEqual({ ssl: true })
    expect(await connectWith({ DATABASE_URL: url.replace('localhost', '127.0.0.1'), POSTGRES_SSL_CA_FILE: cluster.caFile })).toMatchObject({ code: 'database_tls_failed' })
  })
})

describe('POST /api/db/setup against a server that checks passwords and certificates', () => {
  it('answers 502 database_auth_failed for a wrong password, writing nothing and logging no password', async () => {
    const wrong = 'wrong-password-never-logged-77'
    const t = await appForTest(envFor({ POSTGRES_PASSWORD: wrong }))
    const res = await postSetup(t, 'postgresql')
    expect(res.statusCode).toBe(502)
    expect(res.json()).toMatchObject({ error: 'database_auth_failed', message: expect.stringContaining('refused the login for user "postgres"') })
    expect(await exists(join(t.dataDir, 'db.selection.json'))).toBe(false)
    const status = (await t.app.inject({ method: 'GET', url: '/api/db/status' })).body
    expect(t.logs.join('')).toContain('database_auth_failed')
    for (const text of [res.body, status, t.logs.join('')]) expect(text).not.toContain(wrong)
  })

  it('answers 502 database_tls_failed when the certificate does not verify, writing nothing', async () => {
    const t = await appForTest(envFor({ POSTGRES_SSL: 'verify-full', POSTGRES_SSL_CA_FILE: cluster.wrongCaFile }))
    const res = await postSetup(t, 'postgresql')
    expect(res.statusCode).toBe(502)
    expect(res.json()).toMatchObject({ error: 'database_tls_failed' })
    expect(await exists(join(t.dataDir, 'db.selection.json'))).toBe(false)
  })

  it('sets up over verify-full with the password in use, and keeps that password out of the status and every log line', async () => {
    const own = await cluster.createDatabase()
    const t = await appForTest(envFor({ POSTGRES_HOST: 'localhost', POSTGRES_DATABASE: own, POSTGRES_SSL: 'verify-full', POSTGRES_SSL_CA_FILE: cluster.caFile }))
    const res = await postSetup(t, 'postgresql')
    expect(res.statusCode, res.body).toBe(200)
    // The app's pool keeps its connection open: it must be an encrypted one.
    const [encrypted] = await cluster.query(`select count(*)::int as n from pg_stat_ssl s join pg_stat_activity a using (pid) where a.datname = '${own}' and s.ssl`)
    expect(encrypted?.n).toBeGreaterThan(0)
    const status = (await t.app.inject({ method: 'GET', url: '/api/db/status' })).body
    expect(t.logs.join('')).toContain('database set up')
    for (const text of [res.body, status, t.logs.join('')]) {
      expect(text).not.toContain(cluster.password)
      expect(text).not.toContain(AUTH.authorization.slice(7))
    }
  })
})
