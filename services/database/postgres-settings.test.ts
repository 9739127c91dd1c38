import { Socket } from 'node:net'
import pino from 'pino'
import { describe, expect, it, vi } from 'vitest'
import { describePostgres, testConfig } from '../../test/helpers/app.js'
import { databaseForTest } from '../../test/helpers/postgres-apps.js'
import { loadConfig } from '../core/config.js'
import { openConnection } from './connection.js'
import { KEEPALIVE_IDLE_MS, resolvePostgresSettings, tlsOptions } from './postgres-settings.js'

const settingsFor = (env: Record<string, string>) => resolvePostgresSettings(loadConfig(env).postgres)

describe('resolvePostgresSettings', () => {
  it('names each missing POSTGRES_* variable', () => {
    expect(settingsFor({ POSTGRES_HOST: 'db' }).missing).toEqual(['POSTGRES_DATABASE', 'POSTGRES_USER'])
    expect(settingsFor({}).missing).toEqual(['POSTGRES_HOST', 'POSTGRES_DATABASE', 'POSTGRES_USER'])
  })

  it('builds the pool from POSTGRES_* with limits and a connection timeout', () => {
    const { pool, missing, target } = settingsFor({
      POSTGRES_HOST: 'db',
      POSTGRES_PORT: '6543',
      POSTGRES_DATABASE: 'app',
      POSTGRES_USER: 'me',
      POSTGRES_PASSWORD: 'pw',
      POSTGRES_POOL_MAX: '4',
    })
    expect(missing).toEqual([])
    expect(pool).toMatchObject({ host: 'db', port: 6543, database: 'app', user: 'me', password: 'pw', max: 4, connectionTimeoutMillis: 5000, ssl: false })
    expect(pool).toMatchObject({ keepAlive: true, keepAliveInitialDelayMillis: 60_000 })
    expect(target).toEqual({ source: 'POSTGRES_*', host: 'db', port: 6543, database: 'app', user: 'me', ssl: 'disable', passwordSet: true })
  })

  it('lets DATABASE_URL win over POSTGRES_*, decoding its parts and its sslmode', () => {
    const { pool, target } = settingsFor({
      DATABASE_URL: 'postgresql://us%40er:p%2Fw@pg.example:5433/my_db?sslmode=verify-full',
      POSTGRES_HOST: 'ignored',
      POSTGRES_USER: 'ignored',
    })
    expect(pool).toMatchObject({ host: 'pg.example', port: 5433, database: 'my_db', user: 'us@er', password: 'p/w' })
    expect(target).toMatchObject({ source: 'DATABASE_URL', ssl: 'verify-full', passwordSet: true })
  })

  it('reports the parts DATABASE_URL lacks', () => {
    expect(settingsFor({ DATABASE_URL: 'postgres://db.example' }).missing).toEqual(['DATABASE_URL (database name)', 'DATABASE_URL (user)'])
  })
})

describe('tlsOptions', () => {
  it('verifies certificates for true/verify-full, and never silently skips verification', () => {
    expect(tlsOptions('verify-full', null)).toEqual({ rejectUnauthorized: true })
    expect(tlsOptions('verify-full', 'CA')).toEqual({ rejectUnauthorized: true, ca: 'CA' })
  })

  it('checks the chain but not the host name for verify-ca', () => {
    const options = tlsOptions('verify-ca', 'CA')
    expect(options).toMatchObject({ rejectUnauthorized: true, ca: 'CA' })
    expect((options as { checkServerIdentity: () => unknown }).checkServerIdentity()).toBeUndefined()
  })

  it('encrypts without verifying only when require is asked for, as libpq does', () => {
    expect(tlsOptions('require', null)).toEqual({ rejectUnauthorized: false })
    expect(tlsOptions('disable', null)).toBe(false)
  })
})

describePostgres('connections to PostgreSQL', () => {
  it('turn TCP keepalive on after a minute of silence: the pool’s and the LISTEN one', async () => {
    const database = await databaseForTest()
    const keepAlive = vi.spyOn(Socket.prototype, 'setKeepAlive')
    const connection = await openConnection('postgresql', testConfig(database.env), pino({ level: 'silent' }))
    try {
      const pooled = keepAlive.mock.calls.length
      expect(pooled).toBeGreaterThan(0)
      const unlisten = await connection.listen('keepalive_check', () => undefined)
      await unlisten()
      expect(keepAlive.mock.calls.length).toBeGreaterThan(pooled)
      expect(new Set(keepAlive.mock.calls.map((call) => JSON.stringify(call)))).toEqual(new Set([JSON.stringify([true, KEEPALIVE_IDLE_MS])]))
    } finally {
      keepAlive.mockRestore()
      await connection.close()
    }
  })
})
