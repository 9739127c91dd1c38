import type { PGlite, QueryOptions, Results } from '@electric-sql/pglite'
import { hookQueries, type Query } from './pglite-query-hook.js'

/*
 * Drizzle passes a `parsers` option on every PGlite query (raw text for timestamps, dates,
 * intervals and their arrays), and PGlite merges any such option into a fresh copy of its ~320
 * parsers before reading the rows: 100–140 µs per query here, more than the query itself
 * (`select 1` took 87 µs on PGlite and 232 µs through Drizzle).
 *
 * The option only changes the rows when a result column has one of the types it names. Drizzle
 * keeps one options object per prepared query, so the first run of a prepared query tells which
 * types its results have; from then on, when none of them is overridden, it runs without the
 * option and PGlite reads its rows with the parsers it already has: the same values, without the
 * copy. Queries that are not prepared get a new options object each time and run as before.
 */

/** Per options object: the options to run with (without `parsers` when they cannot matter), or null while undecided. */
const decided = new WeakMap<QueryOptions, QueryOptions>()

function withoutParsers(query: Query): Query {
  return async (text, params, options) => {
    if (!options?.parsers) return query(text, params, options)
    const known = decided.get(options)
    if (known) return query(text, params, known)
    const result = await query(text, params, options)
    decided.set(options, resultUses(result, options.parsers) ? options : strip(options))
    return result
  }
}

function resultUses(result: Results, parsers: NonNullable<QueryOptions['parsers']>): boolean {
  return result.fields.some((field) => Object.hasOwn(parsers, field.dataTypeID))
}

function strip(options: QueryOptions): QueryOptions {
  const { parsers: _parsers, ...rest } = options
  return rest
}

/** Makes `client.query` and the `query` of the transactions it opens skip Drizzle's parsers option where it cannot change the rows. */
export function skipUnusedParsers(client: PGlite): PGlite {
  return hookQueries(client, withoutParsers)
}
