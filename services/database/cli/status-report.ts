import { stat } from 'node:fs/promises'
import type { Config, DatabaseType } from '../../core/config.js'
import { isServiceError, messageOf } from '../../core/errors.js'
import { readChoice } from '../choice.js'
import { pgliteDataDir, pgliteLockPath } from '../connection.js'
import { inspectMigrations, readMigrations, type MigrationState } from '../migrator.js'
import { pgliteLockHolder } from '../pglite-lock.js'
import { countOurTables, databaseSizeBytes, drizzleQuery, type TableCount } from '../table-stats.js'
import type { DatabaseStatus } from '../schemas.js'
import type { CliContext } from './context.js'
import { fetchServerStatus, serverBaseUrl } from './server-client.js'

export interface StatusReport {
  type: DatabaseType | null
  source: 'file' | 'environment' | null
  selected_at: string | null
  /** The folder or user@host:port/database; never a password. */
  location: string | null
  /**
   * `running`: this installation's server answers at `url`. `other`: why the server that answered
   * there cannot be this installation's ("uses …", "holds …"; its answer is then left out), else null.
   */
  server: { running: boolean; url: string; phase: string | null; other: string | null }
  migrations: MigrationState | null
  last_error: { code: string; message: string } | null
  size_bytes: number | null
  tables: TableCount[] | null
  /** Where the counts come from, or why there are none. */
  counts_from: 'database' | 'unavailable'
  counts_note: string | null
}

/** What `db status` shows: the running server's own status when one answers, the database's when this process can open it. */
export async function statusReport(context: CliContext): Promise<StatusReport> {
  const { config } = context
  const choice = await readChoice(config)
  const answered = await fetchServerStatus(config)
  const type = choice.kind === 'chosen' ? choice.type : null
  const holder = type === 'pglite' ? await pgliteLockHolder(pgliteLockPath(config)) : null
  const other = answered && type ? notThisInstallation(answered, type, holder === null, pgliteLockPath(config)) : null
  const server = other ? null : answered
  const report: StatusReport = {
    type: null,
    source: null,
    selected_at: null,
    location: null,
    server: { running: server !== null, url: serverBaseUrl(config), phase: server?.phase ?? null, other },
    migrations: server?.migrations ?? null,
    last_error: server?.last_error ? { code: server.last_error.code, message: server.last_error.message } : null,
    size_bytes: null,
    tables: null,
    counts_from: 'unavailable',
    counts_note: null,
  }
  if (choice.kind === 'invalid') return { ...report, last_error: { code: 'selection_file_invalid', message: choice.message } }
  if (choice.kind === 'none') return { ...report, counts_note: 'no database is selected yet: open /setup, or set DB_TYPE' }
  Object.assign(report, { type: choice.type, source: choice.source, selected_at: choice.selectedAt })

  if (choice.type === 'pglite') {
    const dataDir = pgliteDataDir(config)
    report.location = dataDir
    if (holder) {
      report.counts_note = `${holder.who} holds the embedded database (the server: only one process may open it); ${server ? 'the rest comes from the server' : `and no server answers at ${report.server.url}`}`
      return report
    }
    if (!(await stat(dataDir).catch(() => null))) {
      report.counts_note = `the folder ${dataDir} does not exist yet: the server creates it at its next start`
      return report
    }
  }
  await readFromDatabase(context, config, report)
  return report
}

/**
 * Why the server that answered at HOST:PORT cannot be the one of this installation, which selects
 * `type`; null when it may be. Only what its public status proves: the kind it uses, and an
 * embedded database it holds while this installation's lock file is free.
 */
function notThisInstallation(server: DatabaseStatus, type: DatabaseType, lockFree: boolean, lockPath: string): string | null {
  if (server.type !== null && server.type !== type) {
    return `uses the ${server.type === 'pglite' ? 'embedded' : 'PostgreSQL'} database, and this installation selects ${type === 'pglite' ? 'the embedded one' : 'PostgreSQL'}: another installation's server (set PORT and HOST to where this installation's listens), or this installation's, not restarted since a transfer switched the database (restart it)`
  }
  if (type === 'pglite' && server.type === 'pglite' && server.phase === 'ready' && lockFree) {
    return `holds an embedded database, and this installation's is held by no process (${lockPath} is free): another installation's server (set PORT and HOST to where this installation's listens)`
  }
  return null
}

async function readFromDatabase(context: CliContext, config: Config, report: StatusReport): Promise<void> {
  let connection
  try {
    connection = await context.openSelected()
  } catch (error) {
    report.last_error = problemOf(error)
    report.counts_note = 'the database could not be opened'
    return
  }
  try {
    report.location = connection.description
    const query = drizzleQuery(connection.db)
    try {
      report.migrations = await inspectMigrations(connection.db, await readMigrations(config.migrationsFolder))
    } catch (error) {
      report.last_error = problemOf(error)
    }
    report.size_bytes = await databaseSizeBytes(query)
    report.tables = await countOurTables(query)
    report.counts_from = 'database'
  } finally {
    await connection.close()
  }
}

function problemOf(error: unknown): { code: string; message: string } {
  return isServiceError(error) ? { code: error.code, message: error.message } : { code: 'database_error', message: messageOf(error) }
}

export function formatStatus(report: StatusReport): string[] {
  const lines: string[] = []
  const row = (label: string, value: string) => lines.push(`${`${label}:`.padEnd(12)} ${value}`)
  row('database', report.type ? `${report.type} (${report.source === 'environment' ? 'DB_TYPE' : 'db.selection.json'}${report.selected_at ? `, selected ${report.selected_at}` : ''})` : 'none selected')
  if (report.location) row('location', report.location)
  const { server } = report
  if (server.other) row('server', `not this installation's at ${server.url}: the server answering there ${server.other}`)
  else row('server', server.running ? `running at ${server.url} (${server.phase})` : `not running at ${server.url}`)
  const m = report.migrations
  row('migrations', m ? `${m.applied} of ${m.total} applied; pending: ${m.pending.join(', ') || 'none'}; changed: ${m.changed.join(', ') || 'none'}; unknown: ${m.unknown}` : 'unknown')
  row('last error', report.last_error ? `${report.last_error.code}: ${report.last_error.message}` : 'none')
  if (report.size_bytes !== null) row('size', `${(report.size_bytes / 1024 / 1024).toFixed(1)} MB`)
  if (report.tables) {
    const width = Math.max(...report.tables.map((t) => t.table.length))
    lines.push('rows:')
    for (const t of report.tables) lines.push(`  ${t.table.padEnd(width)}  ${t.rows === null ? 'missing' : t.rows}`)
  } else {
    row('rows', `unavailable: ${report.counts_note ?? 'unknown'}`)
  }
  return lines
}
