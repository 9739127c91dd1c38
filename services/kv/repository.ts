import { and, asc, eq, gt, like, sql } from 'drizzle-orm'
import type { Executor } from '../database/connection.js'
import { preparedValue } from '../database/prepared-value.js'
import { kvEntries } from './schema.js'

// Values travel as JSON text both ways (`::jsonb` in, `::text` out): the two drivers parse and
// serialize jsonb differently, and the text lets the service see its escapes cheaply.
const valueText = sql<string>`${kvEntries.value}::text`

// The read every GET does, prepared once per database: a plain Drizzle select builds its SQL on
// every call and ran at ~0.45× a hand-written named prepared statement in `npm run bench`.
const find = preparedValue('kv_find_value', (db) => db.select({ value: valueText }).from(kvEntries).where(eq(kvEntries.key, sql.placeholder('key'))))

export function findValue(db: Executor, key: string): Promise<string | undefined> {
  return find(db, { key })
}

/** Stores `json` under `key`, replacing any value; returns the stored text. */
export async function upsertValue(db: Executor, key: string, json: string): Promise<string> {
  return (await upsert(db, { key, json }))!
}

// Prepared like the read: every PUT without a path runs it.
const upsert = preparedValue('kv_upsert_value', (db) =>
  db
    .insert(kvEntries)
    .values({ key: sql.placeholder('key'), value: sql`${sql.placeholder('json')}::jsonb` })
    .onConflictDoUpdate({ target: kvEntries.key, set: { value: sql`excluded.value`, updatedAt: sql`now()` } })
    .returning({ value: valueText }),
)

export interface PathWrite {
  /** Every part of the path. */
  path: string[]
  /** The parts before the last: where the container that receives the value must already be. */
  parent: string[]
  /** The last part as an array index, or null when it is not all digits (or too large to be one). */
  index: number | null
  /** The stored JSON text of the value to write. */
  json: string
  /** The largest stored text (jsonb's own output) the write may produce. */
  maxBytes: number
}

/**
 * The common path write in one statement: when the container that receives the value is already
 * there (an object, or an array the index falls inside), jsonb_set does exactly what writeAt does,
 * and the UPDATE's row lock keeps concurrent writes from losing each other's changes. Returns the
 * stored text, or undefined when the key is missing or the write needs more than jsonb_set does
 * (containers to create, an array to pad, a conflict to report, a size to measure exactly): the
 * caller then does it in JavaScript under a lock. Nothing is written in that case.
 *
 * Every check sits in one CASE, so jsonb_set never runs where it would raise an error. jsonb's
 * text output is never shorter than JSON.stringify's, so a result under `maxBytes` here is under
 * the limit there too; one over it goes the exact way.
 */
export function writeAtPathInPlace(db: Executor, key: string, write: PathWrite): Promise<string | undefined> {
  return writeAt(db, { key, ...write })
}

const writeAt = preparedValue('kv_write_at_path', (db) => {
  const next = sql`jsonb_set(${kvEntries.value}, ${sql.placeholder('path')}::text[], ${sql.placeholder('json')}::jsonb)`
  const container = sql`(${kvEntries.value} #> ${sql.placeholder('parent')}::text[])`
  return db
    .update(kvEntries)
    .set({ value: next, updatedAt: sql`now()` })
    .where(
      and(
        eq(kvEntries.key, sql.placeholder('key')),
        sql`case
          when jsonb_typeof(${container}) = 'object'
            or (jsonb_typeof(${container}) = 'array' and ${sql.placeholder('index')}::integer < jsonb_array_length(${container}))
          then octet_length(${next}::text) <= ${sql.placeholder('maxBytes')}::integer
          else false
        end`,
      ),
    )
    .returning({ value: valueText })
})

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
