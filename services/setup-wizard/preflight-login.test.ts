import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { AUTH } from '../../test/helpers/app.js'
import { appForTest } from '../../test/helpers/apps.js'
import { startPrivateCluster, type PrivateCluster } from '../../test/helpers/private-cluster.js'
import type { PreflightCheck } from './schemas.js'

// The login check against a server that really checks passwords and offers TLS from a private CA.
let cluster: PrivateCluster
let database: string
beforeAll(async () => {
  cluster = await startPrivateCluster()
  database = await cluster.createDatabase()
})
afterAll(() => cluster?.stop())

async function preflight(extra: Record<string, string> = {}): Promise<{ body: string; checks: Record<string, PreflightCheck> }> {
  const t = await appForTest({
    POSTGRES_HOST: '127.0.0.1',
    POSTGRES_PORT: String(cluster.port),
    POSTGRES_USER: cluster.user,
    POSTGRES_PASSWORD: cluster.password,
    POSTGRES_DATABASE: database,
    ...extra,
  })
  const res = await t.app.inject({ method: 'POST', url: '/api/setup/preflight', headers: AUTH })
  expect(res.statusCode).toBe(200)
  const checks = Object.fromEntries((res.json().checks as PreflightCheck[]).map((check) => [check.check, check]))
  return { body: res.body, checks }
}

describe('the preflight login check', () => {
  it('passes every check with the right password over verify-full, saying the login used TLS', async () => {
    const { checks, body } = await preflight({ POSTGRES_HOST: 'localhost', POSTGRES_SSL: 'verify-full', POSTGRES_SSL_CA_FILE: cluster.caFile })
    expect(Object.values(checks).map((check) => check.status)).toEqual(Array(8).fill('passed'))
    expect(checks.login?.detail).toBe('PostgreSQL accepted user "postgres" over TLS (verify-full).')
    expect(body).not.toContain(cluster.password)
  })

  it('fails the login for a wrong password, naming the variables, and checks nothing after it', async () => {
    const { checks, body } = await preflight({ POSTGRES_PASSWORD: 'a-wrong-password-5531' })
    expect(checks.reachable?.status).toBe('passed')
    expect(checks.login).toMatchObject({ status: 'failed', detail: 'PostgreSQL refused the password for user "postgres".', remedy: expect.stringContaining('Check POSTGRES_USER and POSTGRES_PASSWORD') })
    expect(['database', 'version', 'permissions', 'contents'].map((name) => checks[name]?.status)).toEqual(Array(4).fill('skipped'))
    expect(body).not.toContain('a-wrong-password-5531')
  })

  it.each([
    ['a certificate from another CA', { POSTGRES_HOST: 'localhost', POSTGRES_SSL: 'verify-full' }, 'wrong'],
    ['a host name the certificate does not name', { POSTGRES_HOST: '127.0.0.1', POSTGRES_SSL: 'verify-full' }, 'right'],
    ['a certificate from another CA, host name unchecked', { POSTGRES_SSL: 'verify-ca' }, 'wrong'],
  ] as const)('fails the TLS handshake for %s, pointing at POSTGRES_SSL and the CA file', async (_name, env, ca) => {
    const { checks } = await preflight({ ...env, POSTGRES_SSL_CA_FILE: ca === 'right' ? cluster.caFile : cluster.wrongCaFile })
    expect(checks.login).toMatchObject({
      status: 'failed',
      detail: expect.stringMatching(/^The TLS handshake failed: /),
      remedy: expect.stringMatching(new RegExp(`Check POSTGRES_SSL \\(now ${env.POSTGRES_SSL}\\).*POSTGRES_SSL_CA_FILE`)),
    })
  })

  it('passes verify-ca with the right CA at an address the certificate does not name', async () => {
    const { checks } = await preflight({ POSTGRES_SSL: 'verify-ca', POSTGRES_SSL_CA_FILE: cluster.caFile })
    expect(checks.login).toMatchObject({ status: 'passed', detail: 'PostgreSQL accepted user "postgres" over TLS (verify-ca).' })
  })
})
