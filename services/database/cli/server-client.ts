import { createWriteStream } from 'node:fs'
import { readFile } from 'node:fs/promises'
import { join } from 'node:path'
import { Readable } from 'node:stream'
import { pipeline } from 'node:stream/promises'
import type { ReadableStream as WebReadableStream } from 'node:stream/web'
import type { Config } from '../../core/config.js'
import { ADMIN_TOKEN_FILE } from '../../admin-auth/admin-token.js'
import { pgliteDataDir } from '../connection.js'
import type { LockHolder } from '../pglite-lock.js'
import type { DatabaseStatus } from '../schemas.js'
import { BACKUP_COUNTS_HEADER, BACKUP_LOCK_HEADER } from '../schemas.js'
import type { TableCount } from '../table-stats.js'
import { CliError } from './command.js'

const STATUS_TIMEOUT_MS = 3_000

/** Where the running server listens, from HOST and PORT; a wildcard address is reached on loopback. */
export function serverBaseUrl(config: Config): string {
  const host = config.host === '0.0.0.0' || config.host === '' ? '127.0.0.1' : config.host === '::' ? '::1' : config.host
  return `http://${host.includes(':') ? `[${host}]` : host}:${config.port}`
}

/** GET /api/db/status of the running server (public), or null when no server answers there. */
export async function fetchServerStatus(config: Config): Promise<DatabaseStatus | null> {
  try {
    const response = await fetch(`${serverBaseUrl(config)}/api/db/status`, { signal: AbortSignal.timeout(STATUS_TIMEOUT_MS) })
    if (!response.ok) return null
    return (await response.json()) as DatabaseStatus
  } catch {
    return null
  }
}

/** ADMIN_TOKEN, else the token file the server wrote; never printed. */
export async function adminToken(config: Config): Promise<string> {
  if (config.adminToken) return config.adminToken
  const path = join(config.persistentDataDir, ADMIN_TOKEN_FILE)
  try {
    const value = (await readFile(path, 'utf8')).trim()
    if (value) return value
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code !== 'ENOENT') {
      throw new CliError(`Cannot read the admin token file ${path} (${(error as NodeJS.ErrnoException).code}): run this as the user running the server, or set ADMIN_TOKEN.`)
    }
  }
  throw new CliError(`The server holds the database, and asking it needs the admin token: set ADMIN_TOKEN as the server has it, or run this where ${path} is readable.`)
}

/**
 * Streams GET /api/db/backup into `file`; returns the row counts the server read in that copy.
 * `holder` is who the lock file names: the server at HOST:PORT must be that one, or it refuses.
 */
export async function downloadBackup(config: Config, file: string, holder: LockHolder): Promise<TableCount[]> {
  const url = `${serverBaseUrl(config)}/api/db/backup`
  const token = await adminToken(config)
  let response: Response
  try {
    response = await fetch(url, { headers: { authorization: `Bearer ${token}`, ...(holder.token ? { [BACKUP_LOCK_HEADER]: holder.token } : {}) } })
  } catch (error) {
    throw new CliError(`The server holds the database but does not answer at ${url} (${(error as Error).message}). Check HOST and PORT match the server's, or stop the server and back up directly.`)
  }
  if (!response.ok || !response.body) {
    const body = (await response.json().catch(() => null)) as { error?: string; message?: string } | null
    if (body?.error === 'backup_wrong_database') {
      throw new CliError(
        `The server answering at ${serverBaseUrl(config)} is another installation's: it does not hold ${pgliteDataDir(config)}, which ${holder.who} holds. Set PORT (and HOST) to where this installation's server listens, then run the backup again. Nothing was written.`,
      )
    }
    if (response.status === 401) {
      const from = config.adminToken ? 'ADMIN_TOKEN' : join(config.persistentDataDir, ADMIN_TOKEN_FILE)
      throw new CliError(
        `The server at ${serverBaseUrl(config)} refused this installation's admin token (from ${from}): either it is another installation's server (set PORT and HOST to where the server of ${pgliteDataDir(config)} listens), or it was started with another ADMIN_TOKEN (set the same one here). Nothing was written.`,
      )
    }
    throw new CliError(`The server refused the backup (HTTP ${response.status}): ${body?.message ?? response.statusText}`)
  }
  const counts = JSON.parse(response.headers.get(BACKUP_COUNTS_HEADER) ?? '[]') as TableCount[]
  await pipeline(Readable.fromWeb(response.body as WebReadableStream), createWriteStream(file, { mode: 0o600, flags: 'wx' }))
  return counts
}
