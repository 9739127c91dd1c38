import { DrizzleQueryError } from 'drizzle-orm/errors'
import { describe, expect, it } from 'vitest'
import type { PostgresTarget } from './postgres-settings.js'
import { serverStateError } from './server-state-errors.js'

const withCode = (message: string, code: string) => Object.assign(new Error(message), { code })
const target: PostgresTarget = { source: 'POSTGRES_*', host: 'db.internal', port: 5433, database: 'app', user: 'app', ssl: 'disable', passwordSet: true }

describe('serverStateError', () => {
  const answer = (message: string, code: string) => serverStateError(new DrizzleQueryError('update kv_entries …', [], withCode(message, code)), target)

  // Each kind: its code and status, the retry delay where waiting helps, the server's own words
  // with the SQLSTATE, and what the message says to look at.
  it.each([
    ['a canceled query', 'canceling statement due to statement timeout', '57014', 'database_query_canceled', 503, { retry_after_s: 5 }, ['PostgreSQL at db.internal:5433 canceled', 'statement_timeout (set on the server, the database or the role "app"', 'rolled back']],
    ['a write on a read-only server', 'cannot execute INSERT in a read-only transaction', '25006', 'database_read_only', 503, { retry_after_s: 5 }, ['standby', 'default_transaction_read_only', 'reads still work']],
    ['a deadlock', 'deadlock detected', '40P01', 'database_conflict', 409, {}, ['PostgreSQL at db.internal:5433 ended this request\'s transaction for a deadlock', 'Nothing it did was kept', 'Retry the request']],
    ['a serialization failure', 'could not serialize access due to concurrent update', '40001', 'database_conflict', 409, {}, ['serialization failure', 'default_transaction_isolation', 'the role "app"', 'Retry the request']],
    ['a server out of memory', 'out of memory', '53200', 'database_insufficient_resources', 503, { retry_after_s: 5 }, ['PostgreSQL at db.internal:5433 could not run', 'short of memory', 'work_mem', 'changed nothing']],
    ['a configured limit', 'temporary file size exceeds temp_file_limit (64kB)', '53400', 'database_insufficient_resources', 503, { retry_after_s: 5 }, ['temp_file_limit for temporary files', 'the database or the role', 'changed nothing']],
    ['a full disk', 'could not extend file "base/16384/16397": No space left on device', '53100', 'database_full', 507, {}, ['PostgreSQL at db.internal:5433 has run out of disk space', "Free space on the database server's disk"]],
  ] as const)('%s: its code, status and retry delay, the SQLSTATE and what to look at', (_kind, message, sqlstate, code, status, details, says) => {
    const error = answer(message, sqlstate)!
    expect(error.code).toBe(code)
    expect(error.status).toBe(status)
    expect(error.details).toEqual(details)
    expect(error.message).toContain(`${message} (SQLSTATE ${sqlstate})`)
    for (const text of says) expect(error.message).toContain(text)
  })

  it('tells a lock wait, an operator, a replica and a message it does not know apart', () => {
    expect(answer('canceling statement due to lock timeout', '55P03')!.message).toContain('longer than lock_timeout')
    expect(answer('canceling statement due to user request', '57014')!.message).toContain('Another session canceled it (pg_cancel_backend)')
    const replica = answer('canceling statement due to conflict with recovery', '40001')!
    expect(replica.code).toBe('database_query_canceled')
    expect(replica.message).toContain('max_standby_streaming_delay')
    // A server whose lc_messages is not English: the code says it was canceled, not why.
    const localized = answer('storniere Anfrage wegen Zeitüberschreitung der Anweisung', '57014')!.message
    expect(localized).toContain('statement_timeout, lock_timeout) or another session (pg_cancel_backend)')
  })

  it("passes on PostgreSQL's hint, and tells its lock table running out from memory", () => {
    const locks = Object.assign(withCode('out of shared memory', '53200'), { hint: 'You might need to increase max_locks_per_transaction.' })
    const error = serverStateError(new DrizzleQueryError('lock table …', [], locks), target)!
    expect(error.code).toBe('database_insufficient_resources')
    expect(error.message).toContain('Its hint: You might need to increase max_locks_per_transaction.')
    expect(error.message).toContain('the lock table')
    expect(error.message).not.toContain('work_mem')
    expect(answer('insufficient resources', '53000')!.message).toContain('lacks a resource')
  })

  it('leaves the failures of the query itself alone', () => {
    expect(answer('duplicate key value violates unique constraint "kv_entries_pkey"', '23505')).toBeUndefined()
    expect(answer('sorry, too many clients already', '53300')).toBeUndefined()
    expect(serverStateError(new Error('Connection terminated unexpectedly'), target)).toBeUndefined()
  })
})
