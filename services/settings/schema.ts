import { boolean, integer, jsonb, pgTable, text, timestamp } from 'drizzle-orm/pg-core'

/** One row per group of settings, inserted from the definitions; the API reads names from the code. */
export const settingsGroups = pgTable('settings_groups', {
  id: text('id').primaryKey(),
  name: text('name').notNull(),
  description: text('description').notNull(),
  sortOrder: integer('sort_order').notNull(),
})

/**
 * The values. `value` is the JSON value, or for an encrypted setting the AES-GCM envelope
 * {v, kid, iv, tag, ct}; SQL NULL means no value. A row whose definition was removed stays.
 */
export const settings = pgTable('settings', {
  key: text('key').primaryKey(),
  groupId: text('group_id').notNull(),
  type: text('type').notNull(),
  value: jsonb('value'),
  encrypted: boolean('encrypted').notNull(),
  keyId: text('key_id'),
  updatedAt: timestamp('updated_at', { withTimezone: true }).notNull().defaultNow(),
})

/** Settings' own bookkeeping, e.g. the fingerprint of the encryption key (never the key). */
export const settingsMeta = pgTable('settings_meta', {
  name: text('name').primaryKey(),
  value: text('value').notNull(),
  createdAt: timestamp('created_at', { withTimezone: true }).notNull().defaultNow(),
})
