import { eq, sql } from 'drizzle-orm'
import type { Database } from '../database/connection.js'
import { rowsOf } from '../database/results.js'
import { settings } from './schema.js'

export type Executor = Database | Parameters<Parameters<Database['transaction']>[0]>[0]
export type SettingRow = typeof settings.$inferSelect

export const CHANGED_CHANNEL = 'settings_changed'

export interface GroupRecord {
  id: string
  name: string
  description: string
  sort_order: number
}

export interface SettingRecord {
  key: string
  group_id: string
  type: string
  value: unknown
  encrypted: boolean
}

/**
 * Inserts the groups (refreshing their names, which are code) in one statement whatever their
 * number: the rows travel as one JSON parameter, so there is no parameter limit to chunk around.
 */
export async function upsertGroups(ex: Executor, groups: GroupRecord[]): Promise<void> {
  await ex.execute(sql`
    insert into settings_groups (id, name, description, sort_order)
    select id, name, description, sort_order
    from jsonb_to_recordset(${JSON.stringify(groups)}::jsonb) as g(id text, name text, description text, sort_order integer)
    on conflict (id) do update set name = excluded.name, description = excluded.description, sort_order = excluded.sort_order
    where (settings_groups.name, settings_groups.description, settings_groups.sort_order)
      is distinct from (excluded.name, excluded.description, excluded.sort_order)`)
}

/** Inserts the missing settings with their defaults, in one statement; an existing value is never touched. Returns the keys inserted. */
export async function insertMissingSettings(ex: Executor, records: SettingRecord[]): Promise<string[]> {
  const result = await ex.execute(sql`
    insert into settings (key, group_id, type, value, encrypted)
    select key, group_id, type, nullif(value, 'null'::jsonb), encrypted
    from jsonb_to_recordset(${JSON.stringify(records)}::jsonb) as s(key text, group_id text, type text, value jsonb, encrypted boolean)
    on conflict (key) do nothing
    returning key`)
  return rowsOf<{ key: string }>(result).map((row) => row.key)
}

export async function allSettings(ex: Executor): Promise<SettingRow[]> {
  return ex.select().from(settings).orderBy(settings.key)
}

export async function oneSetting(ex: Executor, key: string): Promise<SettingRow | null> {
  const [row] = await ex.select().from(settings).where(eq(settings.key, key))
  return row ?? null
}

/** Writes one value (or SQL NULL), creating the row if initialization has not run yet. */
export async function writeSetting(ex: Executor, record: SettingRecord & { key_id: string | null }): Promise<SettingRow> {
  const values = { key: record.key, groupId: record.group_id, type: record.type, value: record.value, encrypted: record.encrypted, keyId: record.key_id }
  const [row] = await ex
    .insert(settings)
    .values(values)
    .onConflictDoUpdate({ target: settings.key, set: { value: values.value, encrypted: values.encrypted, keyId: values.keyId, type: values.type, updatedAt: sql`now()` } })
    .returning()
  return row!
}

/** Delivered to every listening instance when the writing transaction commits, never on rollback. */
export async function notifyChanged(ex: Executor, keys: string[]): Promise<void> {
  await ex.execute(sql`select pg_notify(${CHANGED_CHANNEL}, ${keys.join(',')})`)
}

/** Records `value` under `name` unless a value is already there; returns the value now stored (one statement). */
export async function claimMeta(ex: Executor, name: string, value: string): Promise<string> {
  const result = await ex.execute(sql`
    with inserted as (
      insert into settings_meta (name, value) values (${name}, ${value}) on conflict (name) do nothing returning value
    )
    select value from inserted union all select value from settings_meta where name = ${name}`)
  return rowsOf<{ value: string }>(result)[0]!.value
}

export async function settingKeys(ex: Executor): Promise<string[]> {
  return (await ex.select({ key: settings.key }).from(settings)).map((row) => row.key)
}
