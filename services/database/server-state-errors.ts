import { ServiceError, driverError, messageOf } from '../core/errors.js'
import { UNAVAILABLE_RETRY_AFTER_S } from './connection-errors.js'
import { databaseError } from './errors.js'
import type { PostgresTarget } from './postgres-settings.js'

/**
 * The answer to a request whose query PostgreSQL refused or ended for its own state or settings,
 * not for the query: canceled while it ran (database_query_canceled), refused as a write on a
 * read-only server (database_read_only), out of disk space (database_full), or ended for a
 * conflict with a transaction running at the same time, a deadlock or a serialization failure
 * (database_conflict), or short of memory or past a configured limit
 * (database_insufficient_resources; a refused connection is database_unavailable). The message says which and what to do, instead of an unexplained 500; the
 * failed statement changed nothing.
 * Undefined for any other error.
 */
export function serverStateError(wrapped: unknown, target: PostgresTarget): ServiceError | undefined {
  const error = driverError(wrapped)
  const code = (error as { code?: unknown } | null)?.code
  const text = messageOf(error)
  const said = `PostgreSQL at ${target.host}:${target.port}`
  const retry = { retry_after_s: UNAVAILABLE_RETRY_AFTER_S }
  if (code === '25006') {
    return databaseError(
      'database_read_only',
      `${said} accepts no writes: ${text} (SQLSTATE 25006). It is a standby (a failover in progress, or POSTGRES_HOST or DATABASE_URL names a replica rather than the primary), or it was made read-only (default_transaction_read_only: some managed services set it when storage runs out). Nothing was written; reads still work. Retry in a few seconds; if it lasts, point the service at the primary.`,
      { cause: error, details: retry },
    )
  }
  if (code === '53100') {
    return databaseError(
      'database_full',
      `${said} has run out of disk space: ${text} (SQLSTATE 53100). The statement changed nothing; queries that need no new room (most reads) still work. Free space on the database server's disk, or grow a managed database's storage, then retry.`,
      { cause: error },
    )
  }
  if (typeof code === 'string' && /^53[0-9A-Z]{3}$/.test(code) && code !== '53300') {
    const hint = (error as { hint?: unknown }).hint
    const why =
      code === '53200'
        ? /shared memory/i.test(text)
          ? 'Its shared memory ran out: most often the lock table, filled by a transaction that touches many tables or partitions (max_locks_per_transaction; changing it needs a restart of PostgreSQL).'
          : "It could not get the memory this query needed: the database server's machine is short of memory, or work_mem is set high for many sessions at once."
        : code === '53400'
          ? 'The query went past a limit set in its configuration (temp_file_limit for temporary files, or the limit its message names), on the server, the database or the role.'
          : 'It lacks a resource it needed.'
    return databaseError(
      'database_insufficient_resources',
      `${said} could not run this request's query: ${text} (SQLSTATE ${code}).${typeof hint === 'string' && hint ? ` Its hint: ${hint}` : ''} ${why} The statement changed nothing; retry in a few seconds, and if it lasts, give the server what it lacks.`,
      { cause: error, details: retry },
    )
  }
  // 40001 is a replica's "conflict with recovery" (a cancel) or a serialization failure (a conflict).
  const recoveryConflict = code === '40001' && /conflict with recovery/i.test(text)
  if (code === '40P01' || (code === '40001' && !recoveryConflict)) {
    const what =
      code === '40P01'
        ? 'a deadlock: it and another transaction each waited for a lock the other held'
        : `a serialization failure: another transaction changed the same rows at the same time, under REPEATABLE READ or SERIALIZABLE isolation (default_transaction_isolation, set on the server, the database or the role "${target.user}")`
    return databaseError(
      'database_conflict',
      `${said} ended this request's transaction for ${what}: ${text} (SQLSTATE ${code}). Nothing it did was kept. Retry the request, at once if you like; if it keeps happening, the server's log names the statements involved.`,
      { cause: error },
    )
  }
  if (code !== '57014' && code !== '55P03' && !recoveryConflict) return undefined
  const why =
    code === '55P03'
      ? `It waited longer than lock_timeout (set on the server, the database or the role "${target.user}") for a lock another session holds, or asked not to wait (NOWAIT); pg_stat_activity and pg_locks show who holds it.`
      : recoveryConflict
        ? 'A read replica (POSTGRES_READ_URLS) canceled it to apply changes from the primary; on the replica, raise max_standby_streaming_delay or turn on hot_standby_feedback.'
        : /statement timeout/i.test(text)
          ? `It ran longer than statement_timeout (set on the server, the database or the role "${target.user}"; SHOW statement_timeout): raise it, or find what made the query slow, such as a lock another session holds (pg_stat_activity).`
          : /user request/i.test(text)
            ? 'Another session canceled it (pg_cancel_backend).'
            : 'A limit set on the server (statement_timeout, lock_timeout) or another session (pg_cancel_backend) ended it.'
  return databaseError('database_query_canceled', `${said} canceled this request's query: ${text} (SQLSTATE ${code}). ${why} The canceled statement was rolled back; retry in a few seconds.`, {
    cause: error,
    details: retry,
  })
}
