import type { FastifyBaseLogger } from 'fastify'
import { driverError, messageOf } from '../core/errors.js'

/*
 * PGlite runs PostgreSQL as a single backend, without the postmaster's background workers: no
 * autovacuum and no checkpointer. So the server does their work on the embedded database itself.
 *
 * Autovacuum: every row an UPDATE or DELETE leaves behind would stay on disk for good, and the
 * planner's statistics would never be refreshed. Measured: one KV key overwritten 800 times with a
 * 100 KB value grew the database files from 23 to 103 MB; after a VACUUM, 200 more overwrites
 * added 1 MB. The job queue's tables churn like that all the time. Each pass, the tables whose dead
 * rows or changes since their last ANALYZE pass autovacuum's thresholds, or whose oldest
 * transaction ID nears wraparound, get VACUUM and/or ANALYZE, one statement each.
 *
 * Checkpoints: a standalone backend never starts one for the WAL it writes (XLogWrite asks only
 * under the postmaster; measured with max_wal_size at 1 GB and at 64 MB), and nothing runs checkpoint_timeout. Until a clean close, pg_wal kept
 * every write (measured: 337 MB after 3,000 writes of 100 KB), and a server killed then replayed
 * all of it on its next start, on the event loop (331 MB: 1.1 s instead of 0.25 s). Each pass
 * checkpoints once CHECKPOINT_WAL_BYTES of WAL were written since the last checkpoint, or once it
 * is older than checkpoint_timeout and anything was written since (20–50 ms here).
 */

/** WAL since the last checkpoint that makes a pass checkpoint: what a killed server replays (~0.2 s at the rate measured above) and pg_wal holds beyond min_wal_size. */
export const CHECKPOINT_WAL_BYTES = 64 * 1024 * 1024
/** A checkpoint record and its redo point: WAL since the last checkpoint beyond this means something was written. */
const WRITTEN_BYTES = 1024

/**
 * The tables autovacuum would process now. A TOAST table counts for the table that owns it (a
 * VACUUM of the owner covers it); temporary tables belong to their session. `name` is quoted for SQL.
 */
const DUE = `
with due as (
  select coalesce(owner.oid, c.oid) as target,
    s.n_dead_tup > current_setting('autovacuum_vacuum_threshold')::float8
        + current_setting('autovacuum_vacuum_scale_factor')::float8 * greatest(c.reltuples, 0)
      or age(c.relfrozenxid) > current_setting('autovacuum_freeze_max_age')::float8 as needs_vacuum,
    c.relkind <> 't' and s.n_mod_since_analyze > current_setting('autovacuum_analyze_threshold')::float8
        + current_setting('autovacuum_analyze_scale_factor')::float8 * greatest(c.reltuples, 0) as needs_analyze
  from pg_stat_all_tables s
  join pg_class c on c.oid = s.relid
  left join pg_class owner on owner.reltoastrelid = c.oid
  where c.relkind in ('r', 'm', 't') and c.relpersistence <> 't'
)
select target::regclass::text as name, bool_or(needs_vacuum) as vacuum, bool_or(needs_analyze) as "analyze"
from due
group by target
having bool_or(needs_vacuum) or bool_or(needs_analyze)
order by 1`

export interface MaintenanceClient {
  query<T>(text: string): Promise<{ rows: T[] }>
  /** The simple protocol: no prepared statement kept for each table's VACUUM. */
  exec(text: string): Promise<unknown>
  readonly closed: boolean
}

export interface MaintenanceRun {
  /** The table, or null for a checkpoint. */
  table: string | null
  statement: 'vacuum' | 'vacuum analyze' | 'analyze' | 'checkpoint'
  ms: number
}

/** WAL written since the last checkpoint's redo point, and that checkpoint's age, compared with checkpoint_timeout. */
const SINCE_CHECKPOINT = `
select (pg_current_wal_insert_lsn() - redo_lsn)::float8 as wal_bytes,
  now() - checkpoint_time >= current_setting('checkpoint_timeout')::interval as timed_out
from pg_control_checkpoint()`

/** Autovacuum and checkpoints for the embedded database: `start()` once it serves, `stop()` before it closes. */
export class EmbeddedMaintenance {
  private timer: NodeJS.Timeout | null = null
  private running: Promise<unknown> | null = null
  private stopped = false

  /** `intervalMs` 0 turns it off (PGLITE_MAINTENANCE_INTERVAL_S=0). */
  constructor(
    private readonly client: MaintenanceClient,
    private readonly intervalMs: number,
    private readonly log: FastifyBaseLogger,
  ) {}

  start(): void {
    if (this.intervalMs > 0 && !this.stopped && !this.timer && !this.running) this.schedule()
  }

  /** No pass starts after this; resolves once a pass under way has ended. */
  async stop(): Promise<void> {
    this.stopped = true
    if (this.timer) clearTimeout(this.timer)
    this.timer = null
    await this.running
  }

  /**
   * One pass: every table due, one statement each, so that requests get the database in between,
   * then a checkpoint if one is due. A statement that fails is logged and the pass goes on; the
   * next pass tries again.
   */
  async runOnce(): Promise<MaintenanceRun[]> {
    const runs: MaintenanceRun[] = []
    let due: { name: string; vacuum: boolean; analyze: boolean }[]
    try {
      // A backend sends its statistics to the shared ones at most once a second, from the idle
      // loop's timer, which PGlite does not run: without this, the counts stay behind for good.
      await this.client.exec('select pg_stat_force_next_flush()')
      due = (await this.client.query<{ name: string; vacuum: boolean; analyze: boolean }>(DUE)).rows
    } catch (error) {
      if (!this.client.closed) this.log.warn(`could not check which tables of the embedded database need VACUUM: ${messageOf(driverError(error))}`)
      return runs
    }
    for (const { name, vacuum, analyze } of due) {
      if (this.stopped || this.client.closed) break
      const statement = vacuum ? (analyze ? 'vacuum analyze' : 'vacuum') : 'analyze'
      const started = performance.now()
      try {
        await this.client.exec(statement === 'vacuum analyze' ? `vacuum (analyze) ${name}` : `${statement} ${name}`)
        runs.push({ table: name, statement, ms: Math.round(performance.now() - started) })
      } catch (error) {
        if (!this.client.closed) this.log.warn(`${statement} of ${name} in the embedded database failed: ${messageOf(driverError(error))}; the next pass tries again`)
      }
    }
    if (!this.stopped && !this.client.closed) await this.checkpointIfDue(runs)
    if (runs.length > 0) this.log.debug({ runs }, `maintained the embedded database: ${runs.map((run) => `${run.statement}${run.table ? ` ${run.table}` : ''}`).join(', ')}`)
    return runs
  }

  private async checkpointIfDue(runs: MaintenanceRun[]): Promise<void> {
    try {
      const [since] = (await this.client.query<{ wal_bytes: number; timed_out: boolean }>(SINCE_CHECKPOINT)).rows
      if (!since || !(since.wal_bytes >= CHECKPOINT_WAL_BYTES || (since.timed_out && since.wal_bytes > WRITTEN_BYTES))) return
      const started = performance.now()
      await this.client.exec('checkpoint')
      runs.push({ table: null, statement: 'checkpoint', ms: Math.round(performance.now() - started) })
    } catch (error) {
      if (!this.client.closed) this.log.warn(`a checkpoint of the embedded database failed: ${messageOf(driverError(error))}; the next pass tries again`)
    }
  }

  private schedule(): void {
    this.timer = setTimeout(() => {
      this.timer = null
      this.running = this.runOnce().finally(() => {
        this.running = null
        if (!this.stopped) this.schedule()
      })
    }, this.intervalMs)
    // A pending pass never keeps the process alive.
    this.timer.unref()
  }
}
