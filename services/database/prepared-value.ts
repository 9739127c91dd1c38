import type pg from 'pg'
import { fillPlaceholders } from 'drizzle-orm'
import { isServiceError } from '../core/errors.js'
import type { Database, Executor } from './connection.js'

/** The pg Pool behind each PostgreSQL database the connection hands out. */
const pools = new WeakMap<object, pg.Pool>()

/** Lets preparedValue send its statements straight to `pool` for `db`: called where the PostgreSQL database is opened. */
export function runValuesOnPool(db: Database, pool: pg.Pool): void {
  pools.set(db, pool)
}

/**
 * A Drizzle statement answering one text column named `value`: `db.select({ value: t.value }).from(t).where(…)`,
 * or an insert or update ending in `.returning({ value: … })`.
 */
export interface ValueStatement {
  toSQL(): { sql: string; params: unknown[] }
  prepare(name: string): { execute(values?: Record<string, unknown>): Promise<{ value: string }[]> }
}

type Runner = (values: Record<string, unknown>) => Promise<string | undefined>

/**
 * A statement that runs on every request and answers one text value (a read, or a write's
 * RETURNING): the first row's `value`, or undefined when there is no row. The statement is built
 * once per database, from the schema, by `build`; its placeholders are filled on each call.
 *
 * On the PostgreSQL database itself the statement goes straight to pg's Pool, as the named
 * statement Drizzle's prepared query would send (same name, same SQL). Drizzle's execute wraps
 * each run in four promise layers, a tracer and a row mapper: ~2.5–3 µs of the ~80 µs of CPU a
 * KV read costs on PostgreSQL in `npm run bench`, where our layers must stay within 5% of a
 * hand-written route. Transactions, read replicas and PGlite (whose statements are already named
 * by reuseStatements) run Drizzle's prepared query. Errors are the driver's own either way:
 * driverError() unwraps Drizzle's, and the transaction guard sits on pool.query itself.
 */
export function preparedValue(name: string, build: (db: Executor) => ValueStatement): (db: Executor, values: Record<string, unknown>) => Promise<string | undefined> {
  const runners = new WeakMap<Executor, Runner>()
  return (db, values) => {
    let run = runners.get(db)
    if (!run) runners.set(db, (run = runnerFor(db, name, build(db))))
    return run(values)
  }
}

function runnerFor(db: Executor, name: string, statement: ValueStatement): Runner {
  const pool = pools.get(db)
  if (!pool) {
    const prepared = statement.prepare(name)
    return async (values) => (await prepared.execute(values))[0]?.value
  }
  const { sql: text, params } = statement.toSQL()
  // pg copies each query's config, own property by own property (normalizeQueryConfig: property
  // descriptors, 1.6 µs for these four), and keeps its prototype: the parts that never change sit
  // on one, so only the values are copied (0.8–1.4 µs less per query; prepared-value.test.ts
  // shows pg still sends the named statement).
  const fixed = { name, text, rowMode: 'array' as const }
  return async (values) => {
    const config = Object.create(fixed) as pg.QueryArrayConfig
    config.values = fillPlaceholders(params, values)
    try {
      const result = await pool.query<[string]>(config)
      return result.rows[0]?.[0]
    } catch (error) {
      throw naming(error, name, text)
    }
  }
}

/**
 * Says which statement failed, as Drizzle's wrapper does on the other path ("Failed query: …"),
 * so the error log of a 500 names it; without the values, which may be anything a client stored.
 */
function naming(error: unknown, name: string, text: string): unknown {
  if (error instanceof Error && !isServiceError(error)) Object.assign(error, { statement: name, query: text })
  return error
}
