import { DrizzleQueryError } from 'drizzle-orm/errors'
import { describe, expect, it } from 'vitest'
import { describeConnectionError, isConnectionLoss, unavailableError, type PoolFacts } from './connection-errors.js'

const withCode = (message: string, code: string) => Object.assign(new Error(message), { code })
const FACTS: PoolFacts = {
  target: { source: 'POSTGRES_*', host: 'db.internal', port: 5433, database: 'app', user: 'app', ssl: 'disable', passwordSet: true },
  connectTimeoutMs: 5_000,
  poolMax: 10,
  readReplicas: 0,
}

describe('isConnectionLoss', () => {
  it('knows the ways pg says a connection could not be opened or broke, also wrapped by Drizzle', () => {
    const lost = [
      withCode('connect ECONNREFUSED 127.0.0.1:5433', 'ECONNREFUSED'),
      withCode('read ECONNRESET', 'ECONNRESET'),
      // What a connection whose server vanished says once keepalive or TCP's retries give up (README Troubleshooting).
      withCode('read ETIMEDOUT', 'ETIMEDOUT'),
      withCode('read EHOSTUNREACH', 'EHOSTUNREACH'),
      withCode('getaddrinfo ENOTFOUND db.internal', 'ENOTFOUND'),
      new Error('Connection terminated unexpectedly'),
      new Error('Connection terminated due to connection timeout'),
      new Error('timeout exceeded when trying to connect'),
      new Error('Client has encountered a connection error and is not queryable'),
      withCode('terminating connection due to administrator command', '57P01'),
      withCode('the database system is starting up', '57P03'),
      withCode('connection failure', '08006'),
      withCode('sorry, too many clients already', '53300'),
    ]
    for (const error of lost) {
      expect(isConnectionLoss(error), error.message).toBe(true)
      expect(isConnectionLoss(new DrizzleQueryError('select 1', [], error)), `wrapped: ${error.message}`).toBe(true)
    }
  })

  it('leaves every failure of the query itself alone', () => {
    const own = [
      withCode('duplicate key value violates unique constraint "kv_entries_pkey"', '23505'),
      withCode('syntax error at or near "selec"', '42601'),
      withCode('canceling statement due to statement timeout', '57014'),
      withCode('permission denied for table settings', '42501'),
      withCode('invalid message format', '08P01'),
      new Error('Client was closed and is not queryable'),
      'a string',
      null,
    ]
    for (const error of own) expect(isConnectionLoss(error), String((error as Error | null)?.message ?? error)).toBe(false)
  })
})

describe('unavailableError', () => {
  it('is a 503 with a retry delay that names the server and the variable to check', () => {
    const error = unavailableError(withCode('connect ECONNREFUSED 10.0.0.5:5433', 'ECONNREFUSED'), FACTS, true)
    expect(error.code).toBe('database_unavailable')
    expect(error.status).toBe(503)
    expect(error.details).toEqual({ retry_after_s: 5 })
    expect(error.message).toContain('db.internal:5433')
    expect(error.message).toContain('POSTGRES_HOST/POSTGRES_PORT')
    expect(error.message).toContain('retry in a few seconds')
    // Refused: the query never reached the server, so no change can have been made.
    expect(error.message).not.toContain('may or may not')
  })

  it('warns that a change may have been made only when the connection broke under a request that changes data', () => {
    const broke = new Error('Connection terminated unexpectedly')
    expect(unavailableError(broke, FACTS, true).message).toContain('may or may not have been applied')
    expect(unavailableError(broke, FACTS, false).message).not.toContain('may or may not')
  })

  it('says a pool that stayed busy is as likely as a server that does not answer, with both variables', () => {
    const message = unavailableError(new Error('timeout exceeded when trying to connect'), FACTS, true).message
    expect(message).toContain('within 5000 ms (POSTGRES_CONNECT_TIMEOUT_MS)')
    expect(message).toContain('all 10 connections of the pool (POSTGRES_POOL_MAX)')
    expect(message).not.toContain('may or may not')
  })

  it('says which connection limit a refusing server reached and what to change, with the pool size where known', () => {
    const full = withCode('remaining connection slots are reserved for roles with the SUPERUSER attribute', '53300')
    const message = unavailableError(full, FACTS, true).message
    expect(message).toContain('remaining connection slots are reserved for roles with the SUPERUSER attribute (SQLSTATE 53300)')
    expect(message).toContain(`max_connections, or a CONNECTION LIMIT on the role "app" or the database "app"`)
    expect(message).toContain('POSTGRES_POOL_MAX (10)')
    // Refused at connect: the request's query never reached the server.
    expect(message).not.toContain('may or may not')
    const described = describeConnectionError(full, FACTS.target)
    expect(described.code).toBe('database_error')
    expect(described.message).toContain('lower POSTGRES_POOL_MAX, the connections')
  })

  it('mentions the read replicas only where there are some', () => {
    const refused = withCode('connect ECONNREFUSED', 'ECONNREFUSED')
    expect(unavailableError(refused, FACTS, false).message).not.toContain('POSTGRES_READ_URLS')
    expect(unavailableError(refused, { ...FACTS, readReplicas: 2 }, false).message).toContain('read replica of POSTGRES_READ_URLS')
  })
})
