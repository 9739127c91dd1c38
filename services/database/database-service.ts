import type { FastifyBaseLogger } from 'fastify'
import { Backoff } from '../core/backoff.js'
import type { Config, DatabaseType } from '../core/config.js'
import { ServiceError, driverError, isServiceError, messageOf } from '../core/errors.js'
import type { Lifecycle } from '../core/lifecycle.js'
import { describeConnectionError, isConnectionLoss, unavailableError } from './connection-errors.js'
import { serverStateError } from './server-state-errors.js'
import { openConnection, pgliteDataDir, type Database, type DatabaseConnection } from './connection.js'
import { initializeDatabase } from './initialize.js'
import { streamSnapshot, type StreamedSnapshot } from './embedded-snapshot.js'
import { serveAdminSocket } from './admin-socket.js'
import type { WireServer } from './pglite-wire-server.js'
import { readMigrations, type MigrationState } from './migrator.js'
import { readChoice } from './choice.js'
import { resolvePostgresSettings } from './postgres-settings.js'
import { embeddedDiskFull, removeDataFolder } from './persistent-data.js'
import type { DatabaseStatus, Phase, SetupResult } from './schemas.js'
import type { NotificationHandler } from './pg-listener.js'
import type { PluginStatus } from '../plugins/schemas.js'
import { SELECTION_VERSION, writeSelection } from './selection-file.js'
import { databaseError } from './errors.js'
import { PglitePreparation, removeStalePreparation } from './pglite-prepare.js'

/** What /ready answers with when the database is not ready. */
export interface Problem {
  code: string
  message: string
}

const NOT_RECORDED = 'nothing was recorded; run the setup again once the server is back'
/** While an open database does not answer, it is checked in the background: at once, then backing off. */
const PROBE_TIMEOUT_MS = 2_000
const PROBE_MIN_MS = 1_000
const PROBE_MAX_MS = 15_000

/**
 * The one owner of the database connection: chooses it (selection file, DB_TYPE or the setup
 * API), opens it, migrates it, hands it out through getDb(), retries it, and closes it.
 */
export class DatabaseService {
  private phase: Phase = 'unconfigured'
  private type: DatabaseType | null = null
  private source: 'file' | 'environment' | null = null
  private selectedAt: string | null = null
  private connection: DatabaseConnection | null = null
  private migrations: MigrationState | null = null
  private lastError: DatabaseStatus['last_error'] = null
  private setupRunning = false
  private stoppingServices = false
  private retryTimer: NodeJS.Timeout | null = null
  private readonly backoff = new Backoff()
  private probeTimer: NodeJS.Timeout | null = null
  private probeDelay = PROBE_MIN_MS
  private probing = false
  private attempt: Promise<void> | null = null
  private setupAttempt: Promise<unknown> | null = null
  private plugins: () => PluginStatus[] = () => []
  private adminSocket: Promise<WireServer | null> | null = null
  /** The embedded database being created in the background while nothing is chosen (PGLITE_PREPARE). */
  private preparation: PglitePreparation | null = null

  constructor(
    private readonly config: Config,
    private readonly log: FastifyBaseLogger,
    private readonly lifecycle: Lifecycle,
  ) {}

  /**
   * The Drizzle database, or a database_not_ready error saying why there is none yet. During an
   * outage of an open database it is still handed out: its queries fail with their own errors, and
   * succeed again as soon as the server is back, before any probe has noticed.
   */
  getDb(): Database {
    // While services stop, the phase is already closed (nothing new starts) but they may still query.
    if (this.connection && (this.phase === 'ready' || this.inOutage() || this.stoppingServices)) return this.connection.db
    throw databaseError('database_not_ready', this.notReadyMessage())
  }

  /**
   * For reads that tolerate lag (a list, a count, a page that may be a moment old): selects and
   * relational queries go to a read replica that is up (POSTGRES_READ_URLS), else to the primary;
   * writes, execute() and transactions always to the primary. Without replicas, and on PGlite, it
   * is getDb(). Read your own writes (and everything inside a transaction) through getDb().
   */
  getReadDb(): Database {
    this.getDb()
    return this.connection!.readDb
  }

  /**
   * LISTEN on `channel` through the current connection (see DatabaseConnection.listen). Call it
   * from a service's start(): the listener lives as long as the connection.
   */
  async listen(channel: string, handler: NotificationHandler): Promise<() => Promise<void>> {
    const connection = this.connection
    if (this.phase !== 'ready' || !connection) throw databaseError('database_not_ready', this.notReadyMessage())
    return connection.listen(channel, handler)
  }

  /** A background preparation of the embedded database is running, or done and not yet claimed. */
  preparingEmbedded(): boolean {
    return this.preparation?.inUse() ?? false
  }

  /** The plugin host reports its plugins (and the schemas removed ones left) through the status. */
  reportPlugins(report: () => PluginStatus[]): void {
    this.plugins = report
  }

  status(): DatabaseStatus {
    const configured = this.type !== null || this.phase === 'invalid_selection'
    return {
      configured,
      initialized: this.phase === 'ready',
      dialect: configured ? 'postgresql' : null,
      type: this.type,
      source: this.source,
      phase: this.phase,
      selected_at: this.selectedAt,
      setup_in_progress: this.setupRunning,
      migrations: this.migrations,
      last_error: this.lastError,
      services: this.lifecycle.status(),
      plugins: this.plugins(),
      replicas: this.connection?.replicas() ?? [],
    }
  }

  /**
   * What a request whose query PostgreSQL could not answer gets (the error handler asks), instead
   * of an unexplained 500: database_unavailable (503) for a lost or refused connection; for the
   * server's own state, database_query_canceled, database_read_only (503) or database_full (507),
   * and database_conflict (409) for a deadlock or a serialization failure;
   * on the embedded database, persistent_data_full (507) for a full disk. Undefined for any other error.
   */
  queryError(error: unknown, method: string): ServiceError | undefined {
    if (this.type === 'pglite') return embeddedDiskFull(this.config.persistentDataDir, error, this.connection?.disk)
    if (this.type !== 'postgresql') return undefined
    const { postgres } = this.config
    const { target } = resolvePostgresSettings(postgres)
    if (!isConnectionLoss(error)) return serverStateError(error, target)
    const facts = { target, connectTimeoutMs: postgres.connectionTimeoutMs, poolMax: postgres.poolMax, readReplicas: postgres.readUrls.length }
    return unavailableError(error, facts, method !== 'GET' && method !== 'HEAD')
  }

  /**
   * A consistent copy of the embedded database the server holds, as a stream of its archive (GET
   * /api/db/backup). `lock`: the token of the lock file of the database the caller wants, when it knows it.
   */
  async snapshotEmbedded(lock?: string): Promise<StreamedSnapshot> {
    const connection = this.connection
    if (!connection || this.phase !== 'ready') throw databaseError('database_not_ready', this.notReadyMessage())
    if (!connection.pglite) {
      throw databaseError(
        'backup_unsupported',
        'This server uses PostgreSQL: back it up with "npm run db -- backup" (a logical dump of our schemas), not through the server.',
      )
    }
    if (lock !== undefined && lock !== connection.lockToken) {
      throw databaseError(
        'backup_wrong_database',
        `This server holds the embedded database in ${connection.description}, and the backup asked for is of another one (its lock file names another holder): the request reached another installation's server. Ask the server of that installation (its HOST and PORT). Nothing was copied.`,
      )
    }
    return streamSnapshot(connection.pglite, this.config.persistentDataDir)
  }

  /**
   * For /ready: null when the database answers now and is fully migrated, else what is wrong.
   * Never throws, and logs only when the state changes, so a probe every second stays silent.
   */
  async readiness(timeoutMs: number): Promise<Problem | null> {
    const connection = this.connection
    if (!connection || !(this.phase === 'ready' || this.inOutage())) return { code: 'database_not_ready', message: this.notReadyMessage() }
    const problem = await this.probe(connection, timeoutMs)
    if (problem) return problem
    const pending = this.migrations?.pending ?? []
    if (pending.length > 0) return { code: 'database_not_ready', message: `Migrations are pending: ${pending.join(', ')}. Restart the server or run "npm run db:up".` }
    return null
  }

  /**
   * Reads the choice (DB_TYPE, else the selection file) and, if there is one, starts connecting
   * and migrating in the background. The server listens meanwhile: creating a PGlite folder or
   * waiting for another instance's migrations can take longer than any startup deadline, and
   * /ready says 503 until the database is ready. On failure, attempts go on with backoff.
   */
  async start(): Promise<void> {
    const choice = await readChoice(this.config)
    if (choice.kind === 'invalid') return this.invalidSelection(choice.message)
    if (choice.kind === 'none') {
      this.log.info('no database is set up yet: open /setup to choose one')
      this.prepareEmbedded()
      return
    }
    await removeStalePreparation(this.config, this.log)
    this.configure(choice.type, choice.source, choice.selectedAt)
    void this.connectInBackground()
  }

  /** Resolves when the connection attempt under way (if any) has ended, whether it succeeded or not. */
  async settled(): Promise<void> {
    await this.attempt
  }

  /** The wizard's choice: connect, migrate, record, then persist the choice. Nothing is kept if any step fails. */
  async setup(type: DatabaseType): Promise<SetupResult> {
    if (this.setupRunning) {
      throw databaseError('setup_in_progress', 'A database setup is already running. Wait for it to finish, then check GET /api/db/status.')
    }
    if (this.phase === 'closed') throw databaseError('database_not_ready', this.notReadyMessage())
    if (this.phase === 'invalid_selection') throw databaseError('selection_file_invalid', this.lastError?.message ?? 'The selection file is invalid.')
    if (this.type !== null) {
      throw databaseError(
        'already_configured',
        this.source === 'environment'
          ? `The database is chosen by DB_TYPE=${this.type} in the environment; the setup cannot change it.`
          : `The database is already set up (${this.type}). To choose again, stop the server and move ${this.config.persistentDataDir}/db.selection.json away.`,
        { details: { database_type: this.type } },
      )
    }
    this.setupRunning = true
    const running = this.runSetup(type)
    this.setupAttempt = running.catch(() => undefined)
    try {
      return await running
    } finally {
      this.setupRunning = false
      this.setupAttempt = null
    }
  }

  private async runSetup(type: DatabaseType): Promise<SetupResult> {
    let connection: DatabaseConnection | null = null
    try {
      const files = await readMigrations(this.config.migrationsFolder)
      this.refuseIfClosed(NOT_RECORDED)
      connection = await openConnection(type, this.config, this.log, { prepared: type === 'pglite' ? this.preparation : null })
      this.refuseIfClosed(NOT_RECORDED)
      for (const tag of connection.migratedAtCreation) this.log.info({ migration: tag }, 'applied migration')
      const result = await initializeDatabase(connection.db, type, files, (tag) => this.log.info({ migration: tag }, 'applied migration'))
      result.appliedNow.unshift(...connection.migratedAtCreation)
      this.refuseIfClosed(type === 'postgresql' && result.appliedNow.length > 0 ? `${NOT_RECORDED} (the migrations it applied stay in the database)` : NOT_RECORDED)
      const selectedAt = new Date().toISOString()
      await writeSelection(this.config.persistentDataDir, { type, selectedAt, version: SELECTION_VERSION })
      if (this.isClosed()) {
        await connection.close().catch((error) => this.log.warn({ err: error }, 'closing the connection after a setup interrupted by the shutdown failed'))
        connection = null
        throw shutDownDuringSetup(`the choice (${type}) was recorded and the database opens at the next start`)
      }

      this.configure(type, 'file', selectedAt)
      const ready = connection
      this.becomeReady(connection, result)
      connection = null
      // Chosen: a preparation still running (PostgreSQL was chosen) is of no more use.
      await this.stopPreparation()
      const failed = await this.lifecycle.databaseReady(ready.db).finally(() => ready.started())
      this.log.info({ type, migrations: result.appliedNow.length }, 'database set up')
      return {
        database_type: type,
        migrations_applied: result.appliedNow,
        restart_required: failed.length > 0,
        message:
          failed.length > 0
            ? `The database is set up, but ${failed.join(', ')} could not start. The server retries ${failed.length === 1 ? 'it' : 'them'} on its own (GET /api/db/status shows the error under "services"); restart the server if that does not help.`
            : 'Database setup successful. All services have been initialized and are ready to use.',
      }
    } catch (error) {
      if (connection) await this.discard(connection)
      const explained = this.explain(error, type)
      // The setup may have used the prepared folder up: prepare another for the next attempt. Not
      // on a full disk: a new one would fill it again and fail; once space is freed, the next
      // setup creates the database itself.
      const diskFull = isServiceError(explained) && explained.code === 'persistent_data_full'
      if (type === 'pglite' && this.type === null && !this.isClosed() && !diskFull) this.prepareEmbedded()
      throw explained
    }
  }

  private prepareEmbedded(): void {
    if (!this.config.pglite.prepare || this.preparingEmbedded()) return
    this.preparation = PglitePreparation.start(this.config, this.log)
  }

  private async stopPreparation(): Promise<void> {
    const preparation = this.preparation
    this.preparation = null
    await preparation?.stop()
  }

  /** close() may run during any await of a setup: the setup must then let go of what it opened. */
  private refuseIfClosed(outcome: string): void {
    if (this.isClosed()) throw shutDownDuringSetup(outcome)
  }

  private isClosed(): boolean {
    return this.phase === 'closed'
  }

  async close(): Promise<void> {
    this.phase = 'closed'
    if (this.retryTimer) clearTimeout(this.retryTimer)
    this.retryTimer = null
    if (this.probeTimer) clearTimeout(this.probeTimer)
    this.probeTimer = null
    await this.attempt?.catch(() => undefined)
    await this.setupAttempt
    await this.stopPreparation()
    // Services stop while the connection still works, so they can finish what they were doing.
    this.stoppingServices = true
    await this.lifecycle.stopAll()
    this.stoppingServices = false
    await (await this.adminSocket)?.close()
    const connection = this.connection
    this.connection = null
    await connection?.close()
  }

  /** One check of an open connection; records the outage or the recovery it shows. */
  private async probe(connection: DatabaseConnection, timeoutMs: number): Promise<Problem | null> {
    try {
      await connection.ping(timeoutMs)
    } catch (error) {
      const problem = problemOf(error)
      if (this.connection === connection && !this.isClosed()) this.markUnavailable(problem)
      return problem
    }
    if (this.connection === connection && this.inOutage()) this.recovered()
    return null
  }

  /** An open database that stopped answering: same phase as a failed start, with the connection kept. */
  private inOutage(): boolean {
    return this.phase === 'failed' && this.connection !== null
  }

  private markUnavailable(problem: Problem): void {
    const first = this.phase === 'ready'
    const changed = first || this.lastError?.code !== problem.code
    const now = new Date().toISOString()
    this.phase = 'failed'
    this.lastError = { ...problem, at: now, since: first ? now : (this.lastError?.since ?? now) }
    if (first) this.log.error({ code: problem.code }, `the ${this.type} database stopped answering: ${problem.message}`)
    else if (changed) this.log.error({ code: problem.code }, `the ${this.type} database still does not answer, now: ${problem.message}`)
    if (first) {
      this.probeDelay = PROBE_MIN_MS
      this.scheduleProbe(PROBE_MIN_MS)
    }
  }

  private recovered(): void {
    const since = this.lastError?.since
    this.phase = 'ready'
    this.lastError = null
    if (this.probeTimer) clearTimeout(this.probeTimer)
    this.probeTimer = null
    this.log.info(`the ${this.type} database answers again (unavailable since ${since})`)
  }

  /** The pool saw a connection die or a query fail for want of a server: check now rather than wait for /ready. */
  private suspect(connection: DatabaseConnection): void {
    if (this.connection !== connection || this.phase !== 'ready') return
    this.scheduleProbe(0)
  }

  private scheduleProbe(delayMs: number): void {
    if (this.probeTimer || this.probing || this.isClosed()) return
    this.probeTimer = setTimeout(() => {
      this.probeTimer = null
      void this.backgroundProbe()
    }, delayMs)
    this.probeTimer.unref()
  }

  /** Ends an outage by itself, so the status says ready again even when nobody calls /ready. */
  private async backgroundProbe(): Promise<void> {
    const connection = this.connection
    if (!connection || this.isClosed()) return
    this.probing = true
    let problem: Problem | null
    try {
      problem = await this.probe(connection, PROBE_TIMEOUT_MS)
    } finally {
      this.probing = false
    }
    if (problem && this.connection === connection && this.inOutage()) {
      this.scheduleProbe(this.probeDelay)
      this.probeDelay = Math.min(this.probeDelay * 2, PROBE_MAX_MS)
    }
  }

  private configure(type: DatabaseType, source: 'file' | 'environment', selectedAt: string | null): void {
    this.type = type
    this.source = source
    this.selectedAt = selectedAt
    this.phase = 'connecting'
  }

  private invalidSelection(message: string): void {
    this.phase = 'invalid_selection'
    const now = new Date().toISOString()
    this.lastError = { code: 'selection_file_invalid', message, at: now, since: now }
    this.log.error(message)
  }

  private connectInBackground(): Promise<void> {
    this.attempt = this.connectOnce().finally(() => {
      this.attempt = null
    })
    return this.attempt
  }

  private async connectOnce(): Promise<void> {
    const type = this.type
    if (!type || this.phase === 'closed') return
    let connection: DatabaseConnection | null = null
    try {
      const files = await readMigrations(this.config.migrationsFolder)
      connection = await openConnection(type, this.config, this.log)
      for (const tag of connection.migratedAtCreation) this.log.info({ migration: tag }, 'applied migration')
      const result = await initializeDatabase(connection.db, type, files, (tag) => this.log.info({ migration: tag }, 'applied migration'))
      result.appliedNow.unshift(...connection.migratedAtCreation)
      if ((this.phase as Phase) === 'closed') {
        await connection.close()
        return
      }
      const ready = connection
      this.becomeReady(connection, result)
      this.log.info({ type, database: connection.description, applied: result.appliedNow.length }, 'database ready')
      connection = null
      await this.lifecycle.databaseReady(ready.db).finally(() => ready.started())
    } catch (error) {
      if (connection) await connection.close().catch(() => undefined)
      if ((this.phase as Phase) === 'closed') return
      this.recordFailure(this.explain(error, type))
    }
  }

  /**
   * A user without CREATE on the database fails at the migrator's first statement, outside any
   * migration: say which GRANT is missing instead of answering an unexplained 500.
   */
  private explain(error: unknown, type: DatabaseType): unknown {
    const code = (driverError(error) as { code?: unknown } | null)?.code
    if (isServiceError(error) || type !== 'postgresql' || code !== '42501') return error
    return describeConnectionError(error, resolvePostgresSettings(this.config.postgres).target)
  }

  private recordFailure(error: unknown): void {
    const serviceError = isServiceError(error) ? error : null
    const now = new Date().toISOString()
    const since = this.phase === 'failed' && this.lastError ? this.lastError.since : now
    this.phase = 'failed'
    this.lastError = {
      code: serviceError?.code ?? 'database_error',
      message: serviceError?.message ?? `The database could not be opened: ${messageOf(error)}`,
      at: now,
      since,
    }
    const delay = this.backoff.next()
    this.log.error({ err: error, retryInMs: delay }, `database not usable: ${this.lastError.message} Retrying in ${Math.round(delay / 1000)} s.`)
    this.retryTimer = setTimeout(() => {
      this.retryTimer = null
      void this.connectInBackground()
    }, delay)
    this.retryTimer.unref()
  }

  private becomeReady(connection: DatabaseConnection, migrations: MigrationState): void {
    this.connection = connection
    connection.onTrouble(() => this.suspect(connection))
    this.migrations = { total: migrations.total, applied: migrations.applied, pending: migrations.pending, unknown: migrations.unknown, changed: migrations.changed }
    this.lastError = null
    this.backoff.reset()
    this.phase = 'ready'
    if (connection.pglite && this.config.adminSocket) this.adminSocket = this.serveAdminSocket(connection.pglite)
    if (migrations.changed.length > 0) {
      this.log.warn(
        { changed: migrations.changed },
        `migration file(s) ${migrations.changed.join(', ')} changed after they were applied; the database did not get the change. Put the change in a new migration (npm run db:generate) and restore the old file from git.`,
      )
    }
    if (connection.type === 'pglite' && this.config.postgres.readUrls.length > 0) {
      this.log.warn('POSTGRES_READ_URLS is set, but the embedded database (pglite) has no replicas: every query runs on it. Remove the variable, or use postgresql.')
    }
    if (migrations.unknown > 0) {
      this.log.warn({ unknown: migrations.unknown }, 'the database has migrations this build does not know: it was migrated by a newer version')
    }
  }

  /** A socket that cannot be served is reported, never fatal: the application works without it. */
  private async serveAdminSocket(client: NonNullable<DatabaseConnection['pglite']>): Promise<WireServer | null> {
    try {
      const server = await serveAdminSocket(this.config, client)
      this.log.info({ socket: server.path }, 'serving the embedded database to local admins on a Unix socket (DB_ADMIN_SOCKET): "npm run db -- shell" connects to it')
      return server
    } catch (error) {
      this.log.error({ err: error }, `could not serve the admin socket (DB_ADMIN_SOCKET): ${messageOf(error)}`)
      return null
    }
  }

  private async discard(connection: DatabaseConnection): Promise<void> {
    await connection.close().catch((error) => this.log.warn({ err: error }, 'closing the failed connection failed'))
    // A PGlite folder this attempt created holds nothing anyone chose: leave no trace of it.
    if (connection.type === 'pglite' && connection.createdFresh) {
      await removeDataFolder(pgliteDataDir(this.config))
    }
  }

  private notReadyMessage(): string {
    switch (this.phase) {
      case 'unconfigured':
        return 'No database is set up yet. Open /setup in a browser (or POST /api/db/setup) to choose one, or set DB_TYPE and restart.'
      case 'connecting':
        return `The ${this.type} database is starting (connecting and applying migrations). Try again in a moment.`
      case 'failed':
        return `The ${this.type} database is configured but not usable: ${this.lastError?.message} The server keeps retrying; see GET /api/db/status.`
      case 'invalid_selection':
        return this.lastError?.message ?? 'The database selection is invalid.'
      case 'closed':
        return 'The server is shutting down; the database is closed.'
      case 'ready':
        return 'The database is ready.'
    }
  }
}

function shutDownDuringSetup(outcome: string): ServiceError {
  return databaseError('database_not_ready', `The server shut down during the setup: ${outcome}.`)
}

function problemOf(error: unknown): Problem {
  return isServiceError(error) ? { code: error.code, message: error.message } : { code: 'database_error', message: `The database failed: ${messageOf(error)}` }
}
