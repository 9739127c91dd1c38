import { sql } from 'drizzle-orm'
import { boolean, check, pgTable, text, timestamp, uuid } from 'drizzle-orm/pg-core'

/** One row: which installation this database belongs to and when it was set up. */
export const instance = pgTable(
  'instance',
  {
    id: uuid('id').primaryKey(),
    // Always true and unique, so the table can never hold a second row.
    singleton: boolean('singleton').notNull().default(true).unique(),
    databaseType: text('database_type').notNull(),
    setUpAt: timestamp('set_up_at', { withTimezone: true }).notNull().defaultNow(),
  },
  (table) => [check('instance_single_row', sql`${table.singleton}`)],
)
