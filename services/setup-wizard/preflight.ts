import pg from 'pg'
import type { PostgresConfig } from '../core/config.js'
import { ServiceError, messageOf } from '../core/errors.js'
import { describeConnectionError } from '../database/connection-errors.js'
import type { MigrationFile } from '../database/migrator.js'
import { resolvePostgresSettings, type PostgresTarget } from '../database/postgres-settings.js'
import { inspectContents, inspectPermissions, inspectVersion } from './preflight-queries.js'
import { inspectPluginRoles } from './preflight-plugins.js'
import type { PreflightCheck, PreflightReport } from './schemas.js'
import { probeTcp } from './tcp-probe.js'
import { RESTART_NOTE, variableFor } from './variables.js'

export const CHECKS = ['settings', 'reachable', 'login', 'database', 'version', 'permissions', 'contents', 'plugins'] as const
export type CheckName = (typeof CHECKS)[number]
export type CheckStatus = 'passed' | 'warning' | 'failed' | 'skipped'

export type CheckOutcome = Pick<PreflightCheck, 'status' | 'detail' | 'remedy'> & { duration_ms?: number }

const TITLES: Record<CheckName, string> = {
  settings: 'Connection settings complete',
  reachable: 'Server reachable',
  login: 'Login accepted',
  database: 'Database exists',
  version: 'Server version supported',
  permissions: 'Permission to create tables',
  contents: 'What is already in the database',
  plugins: 'Permission to isolate plugins',
}

/** The preflight never waits longer than this for the network, whatever POSTGRES_CONNECT_TIMEOUT_MS says. */
export const PREFLIGHT_TIMEOUT_MS = 3_000

/**
 * Tries the configured PostgreSQL server the way the setup will use it, one step at a time, and
 * says which step fails and what to do. Everything after the login runs in a READ ONLY
 * transaction that is rolled back: the preflight cannot change the database.
 */
export async function runPreflight(config: PostgresConfig, migrations: MigrationFile[], timeoutMs = PREFLIGHT_TIMEOUT_MS, pluginIds: readonly string[] = []): Promise<PreflightReport> {
  const timeout = Math.min(timeoutMs, config.connectionTimeoutMs)
  const settings = resolvePostgresSettings(config, { connectionTimeoutMs: timeout, max: 1 })
  const { target } = settings
  const outcomes = new Map<CheckName, CheckOutcome>()
  const report = () => buildReport(target, outcomes)

  if (settings.missing.length > 0) {
    outcomes.set('settings', {
      status: 'failed',
      detail: `${settings.missing.join(', ')} ${settings.missing.length === 1 ? 'is' : 'are'} not set.`,
      remedy: `Set ${settings.missing.length === 1 ? 'it' : 'them'} in the server's environment (or set DATABASE_URL=postgresql://user:password@host:5432/database). ${RESTART_NOTE}`,
    })
    return report()
  }
  outcomes.set('settings', { status: 'passed', detail: `Read from ${target.source === 'DATABASE_URL' ? 'DATABASE_URL' : 'the POSTGRES_* variables'}.`, remedy: null })

  const host = target.host as string
  const where = `${host}:${target.port}`
  const probe = await probeTcp(host, target.port, timeout)
  if (!probe.ok) {
    outcomes.set('reachable', { ...unreachable(target, probe.code, timeout), duration_ms: probe.ms })
    return report()
  }
  outcomes.set('reachable', { status: 'passed', detail: `${where} accepted a connection in ${probe.ms} ms.`, remedy: null, duration_ms: probe.ms })

  const { max: _max, idleTimeoutMillis: _idle, ...clientConfig } = settings.pool
  const client = new pg.Client({ ...clientConfig, query_timeout: timeout * 2, application_name: 'groundwork-preflight' })
  // A server that drops the connection mid-check would otherwise crash the process.
  client.on('error', () => undefined)
  try {
    try {
      await client.connect()
    } catch (error) {
      recordConnectFailure(outcomes, target, error)
      return report()
    }
    outcomes.set('login', { status: 'passed', detail: `PostgreSQL accepted user "${target.user}"${target.ssl === 'disable' ? '' : ` over TLS (${target.ssl})`}.`, remedy: null })
    outcomes.set('database', { status: 'passed', detail: `Connected to database "${target.database}".`, remedy: null })

    await client.query('begin transaction read only')
    for (const [check, inspect] of [
      ['version', () => inspectVersion(client)],
      ['permissions', () => inspectPermissions(client, target)],
      ['contents', () => inspectContents(client, migrations)],
      ['plugins', () => inspectPluginRoles(client, pluginIds)],
    ] as const) {
      try {
        outcomes.set(check, await inspect())
      } catch (error) {
        outcomes.set(check, queryFailure(error, target))
      }
    }
    return report()
  } finally {
    await client.query('rollback').catch(() => undefined)
    await client.end().catch(() => undefined)
  }
}

function buildReport(target: PostgresTarget, outcomes: Map<CheckName, CheckOutcome>): PreflightReport {
  const firstFailure = CHECKS.find((check) => outcomes.get(check)?.status === 'failed')
  const checks = CHECKS.map((check): PreflightCheck => {
    const outcome: CheckOutcome = outcomes.get(check) ?? {
      status: 'skipped',
      detail: `Not checked: "${TITLES[firstFailure ?? check]}" must pass first.`,
      remedy: null,
    }
    return { check, title: TITLES[check], ok: outcome.status === 'passed' || outcome.status === 'warning', ...outcome, duration_ms: outcome.duration_ms ?? null }
  })
  return { ok: checks.every((check) => check.ok), warnings: checks.filter((check) => check.status === 'warning').length, target, checks }
}

function unreachable(target: PostgresTarget, code: string, timeoutMs: number): CheckOutcome {
  const where = `${target.host}:${target.port}`
  const hostVariables = target.source === 'DATABASE_URL' ? 'DATABASE_URL' : 'POSTGRES_HOST and POSTGRES_PORT'
  const now = `(now ${target.host} and ${target.port})`
  switch (code) {
    case 'ECONNREFUSED':
    case 'ENOENT':
      return {
        status: 'failed',
        detail: `Nothing accepts connections at ${where} (${code === 'ENOENT' ? 'no such socket' : 'connection refused'}).`,
        remedy: `Start PostgreSQL, or correct ${hostVariables} ${now}. If PostgreSQL runs on another machine or container, it must listen on that address (listen_addresses in postgresql.conf) and the firewall must let port ${target.port} through. ${RESTART_NOTE}`,
      }
    case 'ENOTFOUND':
    case 'EAI_AGAIN':
      return {
        status: 'failed',
        detail: `The host name "${target.host}" does not resolve (${code}).`,
        remedy: `Correct ${variableFor(target, 'host')}: use the database server's name or IP address (in Docker Compose, the database service's name). ${RESTART_NOTE}`,
      }
    case 'ETIMEDOUT':
      return {
        status: 'failed',
        detail: `No answer from ${where} within ${timeoutMs} ms.`,
        remedy: `Check ${hostVariables} ${now}, and that no firewall or security group silently drops connections to port ${target.port}. ${RESTART_NOTE}`,
      }
    default:
      return {
        status: 'failed',
        detail: `Could not open a connection to ${where} (${code}).`,
        remedy: `Check ${hostVariables} ${now} and the network between this server and PostgreSQL. ${RESTART_NOTE}`,
      }
  }
}

function recordConnectFailure(outcomes: Map<CheckName, CheckOutcome>, target: PostgresTarget, error: unknown): void {
  const described = describeConnectionError(error, target)
  const pgCode = (error as { code?: string }).code
  switch (described.code) {
    case 'database_not_found':
      // PostgreSQL authenticates before it looks the database up.
      outcomes.set('login', { status: 'passed', detail: `PostgreSQL accepted user "${target.user}".`, remedy: null })
      outcomes.set('database', {
        status: 'failed',
        detail: `The database "${target.database}" does not exist on ${target.host}:${target.port}.`,
        remedy: `Create it, e.g. createdb -h ${target.host} -p ${target.port} -U ${target.user} ${target.database} (or in psql: CREATE DATABASE "${target.database}" OWNER "${target.user}";), or correct ${variableFor(target, 'database')}. No restart is needed after creating it.`,
      })
      return
    case 'database_auth_failed':
      outcomes.set('login', {
        status: 'failed',
        detail: pgCode === '28000' ? `PostgreSQL does not let user "${target.user}" in: ${messageOf(error)}.` : `PostgreSQL refused the password for user "${target.user}"${target.passwordSet ? '' : ' (no password is set)'}.`,
        remedy:
          pgCode === '28000'
            ? `Check ${variableFor(target, 'user')}, that the role exists with LOGIN (CREATE ROLE "${target.user}" LOGIN PASSWORD '…';), and that pg_hba.conf allows it to connect to "${target.database}" from this machine. ${RESTART_NOTE}`
            : `Check ${variableFor(target, 'user')} and ${variableFor(target, 'password')}. ${RESTART_NOTE}`,
      })
      return
    case 'database_tls_failed':
      outcomes.set('login', {
        status: 'failed',
        detail: `The TLS handshake failed: ${messageOf(error)}.`,
        remedy: `Check ${variableFor(target, 'ssl')} (now ${target.ssl}): the server may not offer TLS (use disable on a private network), or its certificate is not trusted (set POSTGRES_SSL_CA_FILE to its CA). ${RESTART_NOTE}`,
      })
      return
    case 'database_unreachable':
      outcomes.set('login', {
        status: 'failed',
        detail: `${target.host}:${target.port} accepted the connection but did not complete PostgreSQL's handshake (${messageOf(error)}).`,
        remedy: `Make sure ${target.host}:${target.port} is a PostgreSQL server and not another service, and that it is not overloaded. ${RESTART_NOTE}`,
      })
      return
    default:
      outcomes.set('login', { status: 'failed', detail: described.message, remedy: `Fix the cause above in PostgreSQL or in the connection settings. ${RESTART_NOTE}` })
  }
}

function queryFailure(error: unknown, target: PostgresTarget): CheckOutcome {
  if (error instanceof ServiceError) return { status: 'failed', detail: error.message, remedy: null }
  return {
    status: 'failed',
    detail: `The check's query failed: ${messageOf(error)}.`,
    remedy: `User "${target.user}" may lack the right to read the catalog, or the server ended the session. Check the PostgreSQL log, then test again.`,
  }
}
