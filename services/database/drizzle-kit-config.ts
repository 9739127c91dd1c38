import { existsSync, readFileSync } from 'node:fs'
import { join } from 'node:path'
import type { Config as DrizzleKitConfig } from 'drizzle-kit'
import type { Config, DatabaseType } from '../core/config.js'
import { adminSocketPath, SOCKET_PORT } from './admin-socket.js'
import { resolvePostgresSettings, tlsOptions } from './postgres-settings.js'
import { SELECTION_FILE } from './selection-file.js'

/** The drizzle-kit commands that work on files alone (drizzle/ and the schema): no database, no credentials. */
const OFFLINE_COMMANDS = ['generate', 'check', 'up', 'drop', 'export']

const BASE = {
  dialect: 'postgresql' as const,
  schema: './services/schema.ts',
  out: './drizzle',
  // Only our schema: the job queue's (pgboss) and plugins' (plugin_*) schemas are not drizzle's to change.
  schemaFilter: ['public'],
}

export interface DrizzleKitSituation {
  config: Config
  /** The drizzle-kit command being run (generate, migrate, studio, check, push, …), or null. */
  command: string | null
  /** Who holds the PGlite lock, or null; `take` claims it for this process (false when someone was faster). */
  pgliteLock: { holder: string | null; take(): boolean }
}

/**
 * drizzle.config.ts for the selected database, chosen as the server chooses it. Throws an Error
 * whose message says what to do when drizzle-kit must not run (push; a folder another process holds).
 */
export function drizzleKitConfig({ config, command, pgliteLock }: DrizzleKitSituation): DrizzleKitConfig {
  if (command === null || OFFLINE_COMMANDS.includes(command)) return { ...BASE }
  if (command === 'push') {
    throw new Error(
      'drizzle-kit push is refused here: this application\'s databases are changed by the migrations in drizzle/ only (push would change the schema without recording a migration, and the next start would fail or undo it). Run "npm run db:generate", read the new migration, then "npm run db -- up" (or restart the server).',
    )
  }
  const type = selectedType(config)
  if (type === 'postgresql') {
    const { pool, missing } = resolvePostgresSettings(config.postgres)
    if (missing.length > 0) throw new Error(`drizzle-kit ${command}: PostgreSQL is selected but ${missing.join(', ')} ${missing.length === 1 ? 'is' : 'are'} not set.`)
    return {
      ...BASE,
      dbCredentials: {
        host: pool.host!,
        port: pool.port!,
        user: pool.user!,
        ...(typeof pool.password === 'string' ? { password: pool.password } : {}),
        database: pool.database!,
        ssl: tlsOptions(config.postgres.url ? sslOf(config.postgres.url, config) : config.postgres.ssl, config.postgres.sslCa),
      },
    }
  }
  const dataDir = join(config.persistentDataDir, 'pglite')
  if (pgliteLock.holder) {
    const { directory, file } = adminSocketPath(config)
    if (existsSync(file)) return { ...BASE, dbCredentials: { host: directory, port: SOCKET_PORT, user: 'postgres', database: 'postgres', ssl: false } }
    throw new Error(
      `drizzle-kit ${command}: the embedded database ${dataDir} is held by ${pgliteLock.holder}. Opening it from a second process would lose drizzle-kit's changes (or corrupt the folder). Restart the server with DB_ADMIN_SOCKET=true (drizzle-kit then goes through the server), or stop it.`,
    )
  }
  if (!existsSync(dataDir)) throw new Error(`drizzle-kit ${command}: the embedded database ${dataDir} does not exist yet: start the server once (or run "npm run db -- up").`)
  if (!pgliteLock.take()) throw new Error(`drizzle-kit ${command}: another process took the embedded database ${dataDir} just now; try again once it has stopped.`)
  return { ...BASE, driver: 'pglite', dbCredentials: { url: dataDir } }
}

/** DB_TYPE, else the wizard's db.selection.json (read synchronously: drizzle-kit require()s its config). */
function selectedType(config: Config): DatabaseType {
  if (config.dbType) return config.dbType
  const path = join(config.persistentDataDir, SELECTION_FILE)
  let type: unknown
  try {
    type = (JSON.parse(readFileSync(path, 'utf8')) as { type?: unknown }).type
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code === 'ENOENT') throw new Error(`No database is selected (${path} does not exist and DB_TYPE is not set): run the setup first, or set DB_TYPE.`)
    throw new Error(`${path} cannot be read: ${(error as Error).message}. Fix it, or set DB_TYPE.`)
  }
  if (type !== 'pglite' && type !== 'postgresql') throw new Error(`${path} names no database type this application knows (${String(type)}).`)
  return type
}

function sslOf(url: string, config: Config) {
  const mode = new URL(url).searchParams.get('sslmode')
  return (mode as Config['postgres']['ssl'] | null) ?? config.postgres.ssl
}
