import { qualified, quoteIdent, type TableInfo } from './catalog.js'
import type { Session } from './sessions.js'

export interface TableSum {
  rows: number
  /** Order-independent: the sum of the first 64 bits of md5(row text) over all rows, as a decimal string. */
  checksum: string
}

/**
 * Each database computes it on its own side, so nothing is compared through a driver's type
 * parsing. Both sessions run under CANONICAL_SETTINGS, where our column types print alike on
 * PGlite 18 and PostgreSQL 15 and 18.
 */
export async function tableSum(session: Session, table: TableInfo): Promise<TableSum> {
  const row = `row(${table.columns.map((c) => quoteIdent(c.name)).join(', ')})::text`
  const [result] = await session.query<{ rows: string; checksum: string }>(
    `select count(*)::text as rows, coalesce(sum(('x' || substr(md5(${row}), 1, 16))::bit(64)::bigint::numeric), 0)::text as checksum from ${qualified(table)}`,
  )
  return { rows: Number(result!.rows), checksum: result!.checksum }
}
