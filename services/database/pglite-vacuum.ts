import type { FastifyBaseLogger } from 'fastify'
import { driverError, messageOf } from '../core/errors.js'

/*
 * PGlite runs PostgreSQL as a single backend, without the postmaster's background workers: no
 * autovacuum. Every row an UPDATE or DELETE leaves behind then stays on disk for good, and the
 * planner's statistics are never refreshed. Measured: one KV key overwritten 800 times with a
 * 100 KB value grew the database files from 23 to 103 MB; after a VACUUM, 200 more overwrites
 * added 1 MB. The job queue's tables churn like that all the time.
 *
 * So the server does autovacuum's work itself, with autovacuum's own rules and settings: every
 * interval, the tables whose dead rows or changes since their last ANALYZE pass its thresholds, or
 * whose oldest transaction ID nears wraparound, get VACUUM and/or ANALYZE, one statement each.
 */

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

export interface VacuumClient {
  query<T>(text: string): Promise<{ rows: T[] }>
  /** The simple protocol: no prepared statement kept for each table's VACUUM. */
  exec(text: string): Promise<unknown>
  readonly closed: boolean
}

export interface VacuumRun {
  table: string
  statement: 'vacuum' | 'vacuum analyze' | 'analyze'
  ms: number
}

/** Autovacuum for the embedded database: `start()` once it serves, `stop()` before it closes. */
export class EmbeddedVacuum {
  private timer: NodeJS.Timeout | null = null
  private running: Promise<unknown> | null = null
  private stopped = false

  /** `intervalMs` 0 turns it off (PGLITE_VACUUM_INTERVAL_S=0). */
  constructor(
    private readonly client: VacuumClient,
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
   * One pass: every table due, one statement each, so that requests get the database in between.
   * A statement that fails is logged and the pass goes on; the next pass tries that table again.
   */
  async runOnce(): Promise<VacuumRun[]> {
    const runs: VacuumRun[] = []
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
    if (runs.length > 0) this.log.debug({ runs }, `vacuumed the embedded database: ${runs.length} table(s)`)
    return runs
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
