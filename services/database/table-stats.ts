import { sql } from 'drizzle-orm'
import { ourTableNames } from '../setup-wizard/our-tables.js'
import type { Executor } from './connection.js'
import { rowsOf } from './results.js'

/** Runs one SQL text and returns its rows: the same counting works on Drizzle, a raw PGlite and a PGlite transaction. */
export type RunQuery = <T>(text: string) => Promise<T[]>

export const drizzleQuery =
  (db: Executor): RunQuery =>
  async <T>(text: string) =>
    rowsOf<T>(await db.execute(sql.raw(text)))

export const pgliteQuery =
  (client: { query<T>(text: string): Promise<{ rows: T[] }> }): RunQuery =>
  async <T>(text: string) =>
    (await client.query<T>(text)).rows

export interface TableCount {
  /** "schema.table" */
  table: string
  /** null when the table does not exist in this database. */
  rows: number | null
}

/** Row counts of our tables (the schema's), in name order. */
export async function countOurTables(query: RunQuery): Promise<TableCount[]> {
  const [row] = await query<{ schema: string | null }>('select current_schema() as schema')
  const names = [...ourTableNames(row?.schema ?? 'public')].sort()
  const counts: TableCount[] = []
  for (const table of names) {
    const [schema, name] = table.split('.') as [string, string]
    const quoted = `${quoteIdent(schema)}.${quoteIdent(name)}`
    const [present] = await query<{ present: boolean }>(`select to_regclass('${quoted.replace(/'/g, "''")}') is not null as present`)
    if (!present?.present) {
      counts.push({ table, rows: null })
      continue
    }
    const [count] = await query<{ n: number | string }>(`select count(*) as n from ${quoted}`)
    counts.push({ table, rows: Number(count?.n ?? 0) })
  }
  return counts
}

export async function databaseSizeBytes(query: RunQuery): Promise<number> {
  const [row] = await query<{ bytes: number | string }>('select pg_database_size(current_database()) as bytes')
  return Number(row?.bytes ?? 0)
}

export function quoteIdent(name: string): string {
  return `"${name.replace(/"/g, '""')}"`
}
