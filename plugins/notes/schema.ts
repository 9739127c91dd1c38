import { pgSchema, text, timestamp, uuid } from 'drizzle-orm/pg-core'

/** Every table of the plugin lives in its own schema; the host creates it, owned by the plugin's role. */
export const notesSchema = pgSchema('plugin_notes')

export const notes = notesSchema.table('notes', {
  id: uuid('id').primaryKey().defaultRandom(),
  title: text('title').notNull(),
  body: text('body').notNull().default(''),
  createdAt: timestamp('created_at', { withTimezone: true, mode: 'string' }).notNull().defaultNow(),
})
