import { sql } from 'drizzle-orm'
import { check, customType, jsonb, pgTable, timestamp } from 'drizzle-orm/pg-core'

// Keys compare byte by byte (UTF-8) whatever the database's default collation, so `list` pages
// in the same order everywhere and its cursor and prefix ranges use the primary key index.
const byteOrderedText = customType<{ data: string }>({ dataType: () => 'text collate "C"' })

/** The KV store: one JSON value per key. */
export const kvEntries = pgTable(
  'kv_entries',
  {
    key: byteOrderedText('key').primaryKey(),
    value: jsonb('value').notNull(),
    createdAt: timestamp('created_at', { withTimezone: true }).notNull().defaultNow(),
    updatedAt: timestamp('updated_at', { withTimezone: true }).notNull().defaultNow(),
  },
  (table) => [check('kv_entries_key_length', sql`octet_length(${table.key}) between 1 and 512`)],
)
