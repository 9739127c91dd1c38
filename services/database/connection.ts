import { mkdir } from 'node:fs/promises'
import { join } from 'node:path'
import { PGlite, type PGliteOptions } from '@electric-sql/pglite'
import { drizzle as drizzleNodePg } from 'drizzle-orm/node-postgres'
import type { PgDatabase, PgQueryResultHKT, PgTransaction } from 'drizzle-orm/pg-core'
import type { ExtractTablesWithRelations } from 'drizzle-orm'
import { drizzle as drizzlePglite } from 'drizzle-orm/pglite'
import pg from 'pg'
import type { FastifyBaseLogger } from 'fastify'
import type { Config, DatabaseType } from '../core/config.js'
import { ServiceError, driverError, isServiceError, messageOf } from '../core/errors.js'
import { describeConnectionError } from './connection-errors.js'
import { fileSystemCode, isEmptyDataFolder, isPersistentDataProblem, mountedDataDisk, removeDataFolder, restrictDataFolder, unwritable } from './persistent-data.js'
import { acquirePgliteLock } from './pglite-lock.js'
import { createPgliteDataDir, pgliteStartParams } from './pglite-create.js'
import type { PreparedSource } from './pglite-prepare.js'
import { PgListener, quoteChannel, type NotificationHandler } from './pg-listener.js'
import { describeTarget, resolvePostgresSettings } from './postgres-settings.js'
import { ReplicaSet } from './replicas.js'
import type { ReplicaStatus } from './schemas.js'
import { guardTransactions } from './transaction-guard.js'
import { runValuesOnPool } from './prepared-value.js'
import { skipUnusedParsers } from './pglite-parsers.js'
import { reuseStatements } from './pglite-statements.js'
import { openYieldingPglite, type YieldingPGlite } from './pglite-yield.js'
import { EmbeddedMaintenance } from './pglite-maintenance.js'
import * as schema from '../schema.js'
import { databaseError } from './errors.js'
import { withTimeout } from './timeout.js'

/** The typed Drizzle database every service receives. Both kinds are PostgreSQL underneath. */
export type Database = PgDatabase<PgQueryResultHKT, typeof schema>

/** What `db.transaction(async (tx) => …)` hands its callback. */
export type Transaction = PgTransaction<PgQueryResultHKT, typeof schema, ExtractTablesWithRelations<typeof schema>>

/**
 * What repository functions take: the database or a transaction (a transaction is a database
 * too), so a service can compose others inside one transaction.
 */
export type Executor = Database | Transaction

export interface DatabaseConnection {
  readonly type: DatabaseType
  readonly db: Database
  /** For reads that tolerate lag: spread over the read replicas that are up (POSTGRES_READ_URLS), else `db` itself. */
  readonly readDb: Database
  /** The read replicas and their state; empty without POSTGRES_READ_URLS and on PGlite. */
  replicas(): ReplicaStatus[]
  /** Host, port, database and user, or the data folder: for logs and status, never secret. */
  readonly description: string
  /** True when this opening created the PGlite data folder, so a failed setup can remove it. */
  readonly createdFresh: boolean
  /** Migrations applied while the data folder was created (PGlite creates and migrates it in a child process). */
  readonly migratedAtCreation: string[]
  /** The embedded database's own instance (backups, the admin socket); null for PostgreSQL. */
  readonly pglite: PGlite | null
  /** What a full-disk message names when it is not PERSISTENT_DATA_DIR: a volume mounted on the pglite folder itself. */
  readonly disk?: string
  /** The token this opening wrote in the embedded database's lock file (see BACKUP_LOCK_HEADER). */
  readonly lockToken?: string
  ping(timeoutMs: number): Promise<void>
  /**
   * Calls `handler` with each NOTIFY payload on `channel`, and with null when the listening
   * connection was re-established (notifications may have been missed). Resolves to unlisten.
   */
  listen(channel: string, handler: NotificationHandler): Promise<() => Promise<void>>
  /** Calls back when the driver sees a sign that the server went away (never for PGlite, which is in-process). */
  onTrouble(listener: () => void): void
  /**
   * The services have started on this connection. Until then the embedded database lets the event
   * loop poll for I/O before each message of each query (pglite-yield.ts), so requests still get
   * answered while a setup or start runs dozens of queries in a row.
   */
  started(): void
  close(): Promise<void>
}

export function pgliteDataDir(config: Config): string {
  return join(config.persistentDataDir, 'pglite')
}

export function pgliteLockPath(config: Config): string {
  return join(config.persistentDataDir, 'pglite.lock')
}

export interface OpenOptions {
  /** PGlite: where a missing data folder may come from before it is created (the background preparation). */
  prepared?: PreparedSource | null
}

export async function openConnection(type: DatabaseType, config: Config, log: FastifyBaseLogger, options: OpenOptions = {}): Promise<DatabaseConnection> {
  return type === 'pglite' ? openPglite(config, log, options.prepared ?? null) : openPostgres(config, log)
}

async function openPglite(config: Config, log: FastifyBaseLogger, prepared: PreparedSource | null): Promise<DatabaseConnection> {
  const dataDir = pgliteDataDir(config)
  const lockPath = pgliteLockPath(config)
  let lock
  try {
    await mkdir(config.persistentDataDir, { recursive: true })
    lock = await acquirePgliteLock(lockPath, dataDir)
  } catch (error) {
    throw isServiceError(error) ? error : unwritable(config.persistentDataDir, lockPath, error)
  }
  let client: YieldingPGlite | undefined
  let createdFresh = false
  let migratedAtCreation: string[] = []
  try {
    createdFresh = await isEmptyDataFolder(dataDir)
    // Asked before the claim: a compilation still under way goes on while the folder is claimed.
    const engine = prepared?.engine()
    const applied = createdFresh && prepared ? await prepared.claim(dataDir) : null
    const options = { startParams: pgliteStartParams(config.pglite), ...withEngine(await engine) }
    if (applied) client = (await openPrepared(dataDir, options, applied, log)) ?? undefined
    if (client) migratedAtCreation = applied!
    else {
      if (createdFresh) migratedAtCreation = await createPgliteDataDir(dataDir, config)
      // Not PGlite.create(): on failure it keeps the instance, and with it the files it had open.
      client = openYieldingPglite(dataDir, options)
      await client.waitReady
    }
  } catch (error) {
    if (client) closeFailedPglite(client)
    if (createdFresh) await removeDataFolder(dataDir)
    await lock.release()
    // A migration that failed in the creating process keeps its own code (migration_failed, …).
    if (isServiceError(error)) throw error
    // A volume mounted on the folder itself is the disk to name, not PERSISTENT_DATA_DIR's.
    throw pgliteOpenError(config, dataDir, createdFresh, error, await mountedDataDisk(dataDir))
  }
  const restricted = await restrictDataFolder(dataDir)
  if (restricted) log.warn({ dir: dataDir }, restricted)
  const disk = await mountedDataDisk(dataDir)
  const opened = client
  const maintenance = new EmbeddedMaintenance(opened, config.pglite.maintenanceIntervalS * 1000, log)
  const db = guardTransactions(drizzlePglite({ client: skipUnusedParsers(reuseStatements(opened, () => !opened.yielding)), schema }) as Database, opened, ['query', 'exec', 'transaction'])
  // PGlite runs one query at a time: pings queued behind a long transaction would pile up, so they share one.
  let pinging: Promise<unknown> | null = null
  return {
    type: 'pglite',
    db,
    readDb: db,
    replicas: () => [],
    description: dataDir,
    createdFresh,
    migratedAtCreation,
    pglite: opened,
    disk,
    lockToken: lock.token,
    onTrouble: () => undefined,
    started: () => {
      opened.stopYielding()
      maintenance.start()
    },
    async ping(timeoutMs) {
      pinging ??= opened.query('select 1').finally(() => (pinging = null))
      try {
        await withTimeout(pinging, timeoutMs, (ms) => `The embedded database in ${dataDir} did not answer within ${ms} ms: a long transaction may be holding its only connection.`)
      } catch (error) {
        if (isServiceError(error)) throw error
        throw databaseError('database_error', `The embedded database in ${dataDir} failed a simple query: ${messageOf(driverError(error))}.`, { cause: error })
      }
    },
    listen: async (channel, handler) => opened.listen(quoteChannel(channel), (payload) => handler(payload)),
    async close() {
      try {
        await maintenance.stop()
        if (!opened.closed) await opened.close()
      } finally {
        await lock.release()
      }
    },
  }
}

const pingConfigs = new Map<number, pg.QueryConfig>()

/** The ping's query, with pg's query_timeout a little past the caller's own; one per timeout used. */
function pingConfig(timeoutMs: number): pg.QueryConfig {
  let config = pingConfigs.get(timeoutMs)
  // query_timeout makes the pool drop a connection that hangs, instead of keeping it busy forever.
  // (pg supports it per query; its types do not list it.)
  if (!config) pingConfigs.set(timeoutMs, (config = { text: 'select 1', query_timeout: timeoutMs + 100 } as pg.QueryConfig))
  return config
}

async function openPostgres(config: Config, log: FastifyBaseLogger): Promise<DatabaseConnection> {
  const settings = resolvePostgresSettings(config.postgres)
  if (settings.missing.length > 0) throw missingSettingsError(settings.missing)
  if (settings.target.ssl === 'require') {
    log.warn('POSTGRES_SSL=require encrypts the connection but does not verify the server certificate; use verify-full to verify it')
  }
  const pool = new pg.Pool(settings.pool)
  const troubleListeners: (() => void)[] = []
  const trouble = () => troubleListeners.forEach((listener) => listener())
  // A dropped idle connection is reported here; without a listener it would crash the process.
  pool.on('error', (error) => {
    // An expected event during an outage: the message says it all (pg's error carries the whole client).
    log.warn(`an idle PostgreSQL connection failed (${messageOf(error)}); the pool will open a new one`)
    trouble()
  })
  // A query that failed because its connection broke (not because of its SQL) is a sign too.
  pool.on('release', (error: Error | undefined) => {
    if (error && describeConnectionError(error, settings.target).code === 'database_unreachable') trouble()
  })
  try {
    await pool.query('select 1')
  } catch (error) {
    await pool.end().catch(() => undefined)
    throw describeConnectionError(error, settings.target, settings.pool.max)
  }
  const db = guardTransactions(drizzleNodePg({ client: pool, schema }) as Database, pool, ['query'])
  runValuesOnPool(db, pool)
  let replicas: ReplicaSet
  try {
    replicas = await ReplicaSet.open(config.postgres.readUrls, config, pool, db, log)
  } catch (error) {
    await pool.end().catch(() => undefined)
    throw error
  }
  const listener = new PgListener({ ...settings.pool }, log)
  return {
    type: 'postgresql',
    db,
    readDb: replicas.readDb,
    replicas: () => replicas.status(),
    description: describeTarget(settings.target),
    createdFresh: false,
    migratedAtCreation: [],
    pglite: null,
    onTrouble: (listener) => troubleListeners.push(listener),
    started: () => undefined,
    async ping(timeoutMs) {
      try {
        // On a prototype, so that pg does not copy them for each probe (see prepared-value.ts).
        const query = pool.query(Object.create(pingConfig(timeoutMs)) as pg.QueryConfig)
        await withTimeout(query, timeoutMs, (ms) => `PostgreSQL at ${settings.target.host}:${settings.target.port} did not answer within ${ms} ms. Check that it runs and is not overloaded; the server keeps checking by itself.`)
      } catch (error) {
        throw isServiceError(error) ? error : describeConnectionError(error, settings.target, settings.pool.max)
      }
    },
    listen: (channel, handler) => listener.listen(channel, handler),
    async close() {
      await replicas.close()
      await listener.close()
      await pool.end()
    },
  }
}

/** PGlite's options for an engine compiled ahead, if there is one. */
function withEngine(engine: WebAssembly.Module | null | undefined): Pick<PGliteOptions, 'pgliteWasmModule'> {
  return engine ? { pgliteWasmModule: engine } : {}
}

/**
 * Opens a data folder just moved in from the background preparation and checks that it holds the
 * migrations its stamp says. Anything wrong (a damaged folder fails to start, or aborts inside
 * WASM) removes it and answers null: the caller then creates a fresh one, as without preparation.
 */
async function openPrepared(dataDir: string, options: PGliteOptions, applied: string[], log: FastifyBaseLogger): Promise<YieldingPGlite | null> {
  let client: YieldingPGlite | undefined
  try {
    client = openYieldingPglite(dataDir, options)
    await client.waitReady
    const journal = await client.query<{ n: number }>('select count(*)::int as n from drizzle.__drizzle_migrations')
    const found = journal.rows[0]?.n
    if (found !== applied.length) throw new Error(`its migrations journal holds ${found} migrations where its stamp says ${applied.length}`)
    return client
  } catch (error) {
    if (client?.ready) await client.close().catch(() => undefined)
    else if (client) closeFailedPglite(client)
    await removeDataFolder(dataDir)
    log.warn({ err: error }, `the embedded database prepared in the background did not open (${fileSystemCode(error) ?? messageOf(error)}); creating a fresh one instead`)
    return null
  }
}

/**
 * close() refuses an instance that never became ready, yet its WASM file system may hold open
 * files in dataDir: removed with the folder, they would keep their space (on a full disk, too)
 * and one more descriptor per retry. Close every stream but stdin, stdout and stderr.
 */
function closeFailedPglite(client: PGlite): void {
  const fs = (client.Module as { FS?: { streams: ({ fd: number } | null | undefined)[]; close(stream: unknown): void } } | undefined)?.FS
  for (const stream of fs?.streams ?? []) {
    if (!stream || stream.fd <= 2) continue
    try {
      fs!.close(stream)
    } catch {
      // Already closed, or its file is gone: either way it holds nothing any more.
    }
  }
}

function pgliteOpenError(config: Config, dataDir: string, createdFresh: boolean, error: unknown, where?: string): ServiceError {
  if (isPersistentDataProblem(error)) return unwritable(config.persistentDataDir, dataDir, error, where)
  const cause = fileSystemCode(error) ?? messageOf(error)
  return createdFresh
    ? databaseError('database_error', `Could not create the embedded database in ${dataDir}: ${cause}. The unfinished folder was removed; nothing was recorded.`, { cause: error })
    : databaseError('database_error', `Could not open the embedded database in ${dataDir}: ${cause}. If the folder was copied or damaged, restore it from a backup.`, { cause: error })
}

function missingSettingsError(missing: string[]): ServiceError {
  return databaseError(
    'missing_settings',
    `PostgreSQL cannot be set up: ${missing.join(', ')} ${missing.length === 1 ? 'is' : 'are'} not set. Set ${missing.length === 1 ? 'it' : 'them'} in the server's environment (or set DATABASE_URL) and restart the server, then try again.`,
    { details: { missing } },
  )
}
