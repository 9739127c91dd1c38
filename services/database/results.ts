/**
 * node-postgres and PGlite return raw results in different shapes. Services call these instead
 * of reading driver fields, so the same code counts the same on both kinds.
 */

/** Rows of a `db.execute(sql…)` result: both drivers put them in `rows`. */
export function rowsOf<T>(result: unknown): T[] {
  const rows = (result as { rows?: unknown }).rows
  if (!Array.isArray(rows)) throw new TypeError('Not a query result: expected a "rows" array')
  return rows as T[]
}

/**
 * Rows changed by an insert, update or delete without `.returning()`: node-postgres reports
 * `rowCount`, PGlite `affectedRows`.
 */
export function affectedRows(result: unknown): number {
  const { rowCount, affectedRows: affected } = result as { rowCount?: number | null; affectedRows?: number }
  if (typeof rowCount === 'number') return rowCount
  if (typeof affected === 'number') return affected
  throw new TypeError('Not a write result: it reports neither rowCount (node-postgres) nor affectedRows (PGlite)')
}
