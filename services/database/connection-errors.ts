import { ServiceError, driverError, messageOf } from '../core/errors.js'
import type { PostgresTarget } from './postgres-settings.js'
import { databaseError } from './errors.js'

const UNREACHABLE = new Set(['ECONNREFUSED', 'EHOSTUNREACH', 'ENETUNREACH', 'ENOTFOUND', 'EAI_AGAIN', 'ETIMEDOUT', 'ECONNRESET', 'EPIPE'])
const TLS_CODES = /CERT|SELF_SIGNED|UNABLE_TO_VERIFY|ERR_TLS|ERR_SSL/

function variable(target: PostgresTarget, part: 'host' | 'user' | 'password' | 'database' | 'ssl'): string {
  if (target.source === 'DATABASE_URL') return 'DATABASE_URL'
  return { host: 'POSTGRES_HOST/POSTGRES_PORT', user: 'POSTGRES_USER', password: 'POSTGRES_PASSWORD', database: 'POSTGRES_DATABASE', ssl: 'POSTGRES_SSL' }[part]
}

/** Turns a pg connection failure into a message that says which part failed and what to check. */
export function describeConnectionError(wrapped: unknown, target: PostgresTarget): ServiceError {
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
