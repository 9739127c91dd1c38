import { and, asc, eq, gt, like, sql } from 'drizzle-orm'
import type { Executor } from '../database/connection.js'
import { kvEntries } from './schema.js'

// Values travel as JSON text both ways (`::jsonb` in, `::text` out): the two drivers parse and
// serialize jsonb differently, and the text lets the service see its escapes cheaply.
const valueText = sql<string>`${kvEntries.value}::text`

export async function findValue(db: Executor, key: string): Promise<string | undefined> {
  const rows = await db.select({ value: valueText }).from(kvEntries).where(eq(kvEntries.key, key))
  return rows[0]?.value
}

/** Stores `json` under `key`, replacing any value; returns the stored text. */
export async function upsertValue(db: Executor, key: string, json: string): Promise<string> {
  const rows = await db
    .insert(kvEntries)
    .values({ key, value: sql`${json}::jsonb` })
    .onConflictDoUpdate({ target: kvEntries.key, set: { value: sql`excluded.value`, updatedAt: sql`now()` } })
    .returning({ value: valueText })
  return rows[0]!.value
}

/**
 * Locks `key`'s row until the transaction ends and returns its value, creating it as `{}` if it
 * is missing. One statement: PostgreSQL's ON CONFLICT DO UPDATE either inserts or locks the row
 * that exists, with no gap in between for a concurrent delete (a separate insert-then-select saw
 * the row vanish under concurrent deletes). The touch of updated_at is what takes the lock.
 */
export async function lockValue(tx: Executor, key: string): Promise<string> {
  const rows = await tx
    .insert(kvEntries)
    .values({ key, value: sql`'{}'::jsonb` })
    .onConflictDoUpdate({ target: kvEntries.key, set: { updatedAt: sql`now()` } })
    .returning({ value: valueText })
  return rows[0]!.value
}

export async function updateValue(tx: Executor, key: string, json: string): Promise<string> {
  const rows = await tx
    .update(kvEntries)
    .set({ value: sql`${json}::jsonb`, updatedAt: sql`now()` })
    .where(eq(kvEntries.key, key))
    .returning({ value: valueText })
  return rows[0]!.value
}

export async function deleteEntry(db: Executor, key: string): Promise<boolean> {
  const rows = await db.delete(kvEntries).where(eq(kvEntries.key, key)).returning({ key: kvEntries.key })
  return rows.length > 0
}

/** Up to `limit` keys after `after`, in byte order, that start with `prefix` (taken literally). */
export async function listKeys(db: Executor, options: { prefix: string; after: string | null; limit: number }): Promise<string[]> {
  const conditions = [like(kvEntries.key, `${escapeLike(options.prefix)}%`)]
  if (options.after !== null) conditions.push(gt(kvEntries.key, options.after))
  const rows = await db
    .select({ key: kvEntries.key })
    .from(kvEntries)
    .where(and(...conditions))
    .orderBy(asc(kvEntries.key))
    .limit(options.limit)
  return rows.map((row) => row.key)
}

// LIKE's default escape character is the backslash.
function escapeLike(text: string): string {
  return text.replace(/[\\%_]/g, (char) => `\\${char}`)
}
