import { ServiceError, driverError, messageOf } from '../core/errors.js'
import type { PostgresTarget } from './postgres-settings.js'
import { databaseError } from './errors.js'

const UNREACHABLE = new Set(['ECONNREFUSED', 'EHOSTUNREACH', 'ENETUNREACH', 'ENOTFOUND', 'EAI_AGAIN', 'ETIMEDOUT', 'ECONNRESET', 'EPIPE'])
const TLS_CODES = /CERT|SELF_SIGNED|UNABLE_TO_VERIFY|ERR_TLS|ERR_SSL/
/**
 * SQLSTATEs of a server that is going or gone: shutting down (57P0x), connection exceptions (class
 * 08, not its protocol violation); and of one refusing a new connection for its connection limit (53300).
 */
const LOST_SQLSTATE = /^(57P0[123]|0800[0-46]|53300)$/
/** What pg (Client and Pool) says when a connection broke, timed out opening, or was already broken. */
const LOST_MESSAGE = /Connection terminated|connection (ended|timeout)|timeout exceeded when trying to connect|encountered a connection error and is not queryable/i

/**
 * True when a query failed because the connection to PostgreSQL could not be opened or broke, not
 * because of the query itself: trying again later may succeed. Looks through Drizzle's wrapper.
 */
export function isConnectionLoss(wrapped: unknown): boolean {
  const error = driverError(wrapped)
  const code = (error as { code?: unknown } | null)?.code
  if (typeof code === 'string' && (UNREACHABLE.has(code) || LOST_SQLSTATE.test(code))) return true
  return LOST_MESSAGE.test(messageOf(error))
}

function variable(target: PostgresTarget, part: 'host' | 'user' | 'password' | 'database' | 'ssl'): string {
  if (target.source === 'DATABASE_URL') return 'DATABASE_URL'
  return { host: 'POSTGRES_HOST/POSTGRES_PORT', user: 'POSTGRES_USER', password: 'POSTGRES_PASSWORD', database: 'POSTGRES_DATABASE', ssl: 'POSTGRES_SSL' }[part]
}

/**
 * Turns a pg connection failure into a message that says which part failed and what to check.
 * `poolMax`, where known, is named in the advice for a server at its connection limit.
 */
export function describeConnectionError(wrapped: unknown, target: PostgresTarget, poolMax?: number): ServiceError {
  const error = driverError(wrapped)
  const err = error as { code?: string; message?: string }
  const code = err.code ?? ''
  const text = messageOf(error)
  const where = `${target.host}:${target.port}`

  if (UNREACHABLE.has(code) || /timeout|timed out|Connection terminated unexpectedly/i.test(text)) {
    return databaseError(
      'database_unreachable',
      `Could not reach PostgreSQL at ${where} (${code || text}). Check ${variable(target, 'host')}, that the server is running, and that it accepts TCP connections from this machine (listen_addresses, firewall).`,
      { cause: error },
    )
  }
  if (/^57P0[123]$/.test(code)) {
    return databaseError(
      'database_unreachable',
      `PostgreSQL at ${where} is not accepting queries: ${text} (SQLSTATE ${code}). It is shutting down, restarting or starting up; wait for it, or check why it stopped.`,
      { cause: error },
    )
  }
  if (code === '53300') {
    return databaseError(
      'database_error',
      `PostgreSQL at ${where} refused a new connection: ${text} (SQLSTATE 53300). A connection limit is reached: the server's max_connections, or a CONNECTION LIMIT on the role "${target.user}" or the database "${target.database}". Close idle sessions (pg_stat_activity), raise the limit, or lower POSTGRES_POOL_MAX${poolMax === undefined ? '' : ` (${poolMax})`}, the connections each instance of this service may open.`,
      { cause: error },
    )
  }
  if (code === '28P01' || /client password must be a string|password authentication failed/i.test(text)) {
    return databaseError(
      'database_auth_failed',
      `PostgreSQL at ${where} refused the login for user "${target.user}": wrong or missing password. Check ${variable(target, 'user')} and ${variable(target, 'password')}${target.passwordSet ? '' : ' (no password is set)'}.`,
      { cause: error },
    )
  }
  if (code === '28000') {
    return databaseError(
      'database_auth_failed',
      `PostgreSQL at ${where} does not allow user "${target.user}" to connect to database "${target.database}" (${text}). Check ${variable(target, 'user')} and the server's pg_hba.conf.`,
      { cause: error },
    )
  }
  if (code === '3D000') {
    return databaseError(
      'database_not_found',
      `The database "${target.database}" does not exist on ${where}. Create it (createdb -h ${target.host} -U ${target.user} ${target.database}) or correct ${variable(target, 'database')}.`,
      { cause: error },
    )
  }
  if (TLS_CODES.test(code) || /SSL|TLS|certificate/i.test(text)) {
    return databaseError(
      'database_tls_failed',
      `The TLS handshake with PostgreSQL at ${where} failed (${text}). Check ${variable(target, 'ssl')} (now ${target.ssl}) and, for a private CA, POSTGRES_SSL_CA_FILE.`,
      { cause: error },
    )
  }
  if (code === '42501') {
    return databaseError(
      'database_permission_denied',
      `User "${target.user}" lacks a permission on database "${target.database}" (${text}). Grant it the right to create tables: GRANT CREATE ON DATABASE "${target.database}" TO "${target.user}"; and on PostgreSQL 15+, GRANT CREATE ON SCHEMA public TO "${target.user}".`,
      { cause: error },
    )
  }
  return databaseError('database_error', `PostgreSQL at ${where} answered with an error: ${text}${code ? ` (SQLSTATE ${code})` : ''}.`, { cause: error })
}

/** Failures that happen before a query reaches the server: nothing the request asked for was done. */
const NEVER_SENT_CODES = /^(ECONNREFUSED|ENOTFOUND|EHOSTUNREACH|ENETUNREACH|EAI_AGAIN|57P03|53300)$/
const NEVER_SENT_MESSAGE = /timeout exceeded when trying to connect|connection timeout/i

/** How long the service should wait before trying a request the database could not answer. */
export const UNAVAILABLE_RETRY_AFTER_S = 5

export interface PoolFacts {
  target: PostgresTarget
  connectTimeoutMs: number
  poolMax: number
  readReplicas: number
}

/**
 * The answer to a request whose query failed on a lost PostgreSQL connection (isConnectionLoss):
 * a 503 that says what failed and that the server reconnects by itself, and, for a request that
 * may change data and whose query may have reached the server, that the change may have been made.
 */
export function unavailableError(wrapped: unknown, pool: PoolFacts, mayChange: boolean): ServiceError {
  const error = driverError(wrapped)
  const text = messageOf(error)
  const code = (error as { code?: unknown } | null)?.code
  const where = `${pool.target.host}:${pool.target.port}`
  const why = /timeout exceeded when trying to connect/i.test(text)
    ? `No PostgreSQL connection could be had within ${pool.connectTimeoutMs} ms (POSTGRES_CONNECT_TIMEOUT_MS): PostgreSQL at ${where} does not answer, or all ${pool.poolMax} connections of the pool (POSTGRES_POOL_MAX) stayed busy.`
    : describeConnectionError(error, pool.target, pool.poolMax).message
  const neverSent = (typeof code === 'string' && NEVER_SENT_CODES.test(code)) || NEVER_SENT_MESSAGE.test(text)
  const replica = pool.readReplicas > 0 ? ' It may also have been a read replica of POSTGRES_READ_URLS that failed; GET /api/db/status lists which are up.' : ''
  const change = mayChange && !neverSent ? ' The connection broke while the request ran: a change it was making may or may not have been applied, so check before repeating one that is not safe to repeat.' : ''
  return databaseError(
    'database_unavailable',
    `The database could not be reached, so this request was not answered. ${why}${replica}${change} The server reconnects by itself: retry in a few seconds (GET /api/db/status shows when the database is back).`,
    { cause: error, details: { retry_after_s: UNAVAILABLE_RETRY_AFTER_S } },
  )
}

