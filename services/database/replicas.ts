import { withReplicas } from 'drizzle-orm/pg-core'
import { drizzle as drizzleNodePg } from 'drizzle-orm/node-postgres'
import pg from 'pg'
import type { FastifyBaseLogger } from 'fastify'
import type { Config } from '../core/config.js'
import { driverError, messageOf } from '../core/errors.js'
import type { Database } from './connection.js'
import { resolvePostgresSettings } from './postgres-settings.js'
import { withTimeout } from './timeout.js'
import type { ReplicaStatus } from './schemas.js'
import { refuseInsideTransactionOf } from './transaction-guard.js'
import * as schema from '../schema.js'


const CHECK_INTERVAL_MS = 3_000
const CHECK_TIMEOUT_MS = 2_000

// Caught up (everything received is replayed) is no lag, however long ago the primary last wrote.
const CHECK_SQL = `select pg_is_in_recovery() as in_recovery,
  (case when not pg_is_in_recovery() then null
        when pg_last_wal_receive_lsn() = pg_last_wal_replay_lsn() then 0
        else extract(epoch from now() - pg_last_xact_replay_timestamp()) end)::float8 as lag_seconds`

/**
 * The read replicas of a PostgreSQL connection and the database that spreads lag-tolerant reads
 * over them. A replica that is down is skipped; a read that fails because its replica went away
 * runs again on the primary. The replicas are checked in the background, and every change of
 * state is logged once.
 */
export class ReplicaSet {
  /** Selects and relational queries on a replica that is up, else on the primary; everything else on the primary. */
  readonly readDb: Database
  private readonly replicas: Replica[]
  private timer: NodeJS.Timeout | null = null
  private closed = false

  private constructor(urls: string[], config: Config, primaryPool: pg.Pool, primaryDb: Database, log: FastifyBaseLogger) {
    this.replicas = urls.map((url, index) => new Replica(url, index, urls.length, config, primaryPool, log))
    const [first, ...rest] = this.replicas.map((replica) => replica.db)
    this.readDb = first ? withReplicas(primaryDb, [first, ...rest], () => this.choose() ?? primaryDb) : primaryDb
  }

  /** Checks every replica once (a replica that is down does not fail or hold up the opening for longer than a check), then keeps checking. */
  static async open(urls: string[], config: Config, primaryPool: pg.Pool, primaryDb: Database, log: FastifyBaseLogger): Promise<ReplicaSet> {
    const set = new ReplicaSet(urls, config, primaryPool, primaryDb, log)
    await set.checkAll()
    set.schedule()
    return set
  }

  status(): ReplicaStatus[] {
    return this.replicas.map((replica) => replica.status())
  }

  async close(): Promise<void> {
    this.closed = true
    if (this.timer) clearTimeout(this.timer)
    this.timer = null
    await Promise.all(this.replicas.map((replica) => replica.close()))
  }

  private choose(): Database | null {
    const up = this.replicas.filter((replica) => replica.state === 'up')
    return up.length > 0 ? up[Math.floor(Math.random() * up.length)]!.db : null
  }

  private async checkAll(): Promise<void> {
    await Promise.all(this.replicas.map((replica) => replica.check(CHECK_TIMEOUT_MS)))
  }

  private schedule(): void {
    if (this.closed || this.replicas.length === 0) return
    this.timer = setTimeout(() => {
      this.timer = null
      void this.checkAll().finally(() => this.schedule())
    }, CHECK_INTERVAL_MS)
    this.timer.unref()
  }
}

class Replica {
  state: 'up' | 'down' = 'down'
  private lagSeconds: number | null = null
  private error: string | null = 'not checked yet'
  private since = new Date().toISOString()
  private checkedOnce = false
  private warnedNotStandby = false
  private closed = false
  readonly db: Database
  private readonly pool: pg.Pool
  private readonly url: string
  private readonly name: string

  constructor(
    rawUrl: string,
    index: number,
    count: number,
    config: Config,
    primaryPool: pg.Pool,
    private readonly log: FastifyBaseLogger,
  ) {
    this.url = maskUrl(rawUrl)
    this.name = `POSTGRES_READ_URLS entry ${index + 1} of ${count} (${this.url})`
    // The primary's TLS, CA, pool and timeout settings, with this URL's host, user and password.
    this.pool = new pg.Pool(resolvePostgresSettings({ ...config.postgres, url: rawUrl }).pool)
    // Without a listener, a dropped idle connection would crash the process.
    this.pool.on('error', (error) => this.markDown(error))
    this.pool.on('release', (error: Error | undefined) => {
      if (error && replicaUnusable(error)) this.markDown(error)
    })
    const client = {
      query: async (...args: unknown[]) => {
        // Inside a transaction, its own writes are only visible on tx: a read elsewhere is the guard's misuse.
        refuseInsideTransactionOf(primaryPool)
        if (this.state === 'up') {
          try {
            return await (this.pool.query as (...a: unknown[]) => Promise<unknown>)(...args)
          } catch (error) {
            if (replicaUnusable(error)) this.markDown(error)
            else if (!recoveryConflict(error)) throw error
            this.log.debug(`a read on read replica ${this.url} failed (${describeFailure(error)}); it runs again on the primary`)
          }
        }
        // A read must not fail because a replica did: the primary has everything the replica had.
        return (primaryPool.query as (...a: unknown[]) => Promise<unknown>)(...args)
      },
    }
    this.db = drizzleNodePg({ client: client as unknown as pg.Pool, schema }) as Database
  }

  status(): ReplicaStatus {
    return { url: this.url, state: this.state, lag_seconds: this.state === 'up' ? this.lagSeconds : null, error: this.error, since: this.since }
  }

  async check(timeoutMs: number): Promise<void> {
    try {
      // query_timeout makes the pool drop a connection that hangs, instead of keeping it busy forever.
      const query = this.pool.query({ text: CHECK_SQL, query_timeout: timeoutMs + 100 } as pg.QueryConfig)
      const { rows } = await withTimeout(query, timeoutMs, (ms) => `did not answer within ${ms} ms`)
      if (this.closed) return
      const row = rows[0] as { in_recovery: boolean; lag_seconds: number | null }
      if (!row.in_recovery && !this.warnedNotStandby) {
        this.warnedNotStandby = true
        this.log.warn(`${this.name} is not a standby (pg_is_in_recovery() is false): reads sent there may not be what the primary has. List streaming replicas of the primary only.`)
      }
      this.lagSeconds = row.lag_seconds
      this.markUp()
    } catch (error) {
      this.markDown(error)
    }
  }

  async close(): Promise<void> {
    this.closed = true
    await this.pool.end().catch(() => undefined)
  }

  private markUp(): void {
    if (this.state === 'up') return
    const downSince = this.since
    this.state = 'up'
    this.error = null
    this.since = new Date().toISOString()
    this.log.info(this.checkedOnce ? `read replica ${this.url} answers again (down since ${downSince}); lag-tolerant reads go to it` : `read replica ${this.url} is up`)
    this.checkedOnce = true
  }

  private markDown(error: unknown): void {
    if (this.closed) return
    const message = describeFailure(error)
    const first = this.state === 'up' || !this.checkedOnce
    this.checkedOnce = true
    this.error = message
    if (!first) return
    this.state = 'down'
    this.since = new Date().toISOString()
    this.log.warn(`read replica ${this.url} is down (${message}): its reads go to the primary until it answers again. Check it, or remove it from POSTGRES_READ_URLS.`)
  }
}

/**
 * A failure of the replica rather than of the query: no server answer at all (refused, reset,
 * timed out, TLS) or a server refusing the session (shutting down, starting, login, database).
 */
function replicaUnusable(wrapped: unknown): boolean {
  const error = driverError(wrapped)
  if (!(error instanceof pg.DatabaseError)) {
    // Socket and TLS errors carry Node's code; pg's own say the connection ended or timed out.
    return typeof (error as { code?: unknown })?.code === 'string' || /connection|terminated|timeout|timed out/i.test(messageOf(error))
  }
  const code = error.code ?? ''
  return code.startsWith('08') || code.startsWith('28') || /^57P0[123]$/.test(code) || code === '3D000'
}

/** The replica cancelled the read to replay the primary's changes: the primary can answer it. */
function recoveryConflict(wrapped: unknown): boolean {
  const error = driverError(wrapped)
  return error instanceof pg.DatabaseError && error.code === '40001' && /recovery/i.test(error.message)
}

function describeFailure(wrapped: unknown): string {
  const error = driverError(wrapped) as { code?: unknown }
  const code = typeof error?.code === 'string' ? error.code : null
  const text = messageOf(error)
  return code && !text.includes(code) ? `${text} (${code})` : text
}

/** Safe to show: the password masked, and no query parameter but those that say where and how to connect. */
export function maskUrl(raw: string): string {
  const url = new URL(raw)
  if (url.password) url.password = '****'
  for (const key of [...url.searchParams.keys()]) {
    if (key !== 'sslmode' && key !== 'host') url.searchParams.delete(key)
  }
  return url.toString()
}
