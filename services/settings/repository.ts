import { eq, sql } from 'drizzle-orm'
import type { Executor } from '../database/connection.js'
import { rowsOf } from '../database/results.js'
import { preparedValue } from '../database/prepared-value.js'
import { settings, settingsMeta } from './schema.js'

export type { Executor }
export type SettingRow = typeof settings.$inferSelect

/** settings_meta row counting the writes, for the caches of every instance. */
export const GENERATION = 'generation'

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

/**
 * Called first in every writing transaction: its row lock queues the settings writes one behind
 * another (no deadlock between two that write the same keys in other orders), and the other
 * instances see the new generation once it commits.
 */
export async function bumpGeneration(ex: Executor): Promise<void> {
  await ex.execute(sql`
    insert into settings_meta (name, value) values (${GENERATION}, '1')
    on conflict (name) do update set value = (settings_meta.value::bigint + 1)::text`)
}

// Every read on PostgreSQL checks the generation first: prepared once per database, since a plain
// Drizzle select builds its SQL on every call (see `npm run bench`).
const generation = preparedValue('settings_generation', (ex) =>
  ex.select({ value: settingsMeta.value }).from(settingsMeta).where(eq(settingsMeta.name, sql.placeholder('name'))),
)

export async function currentGeneration(ex: Executor): Promise<string | null> {
  return (await generation(ex, { name: GENERATION })) ?? null
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

/** Every stored key, with its value where it is not encrypted (null where it is). */
export async function storedValues(ex: Executor): Promise<{ key: string; value: unknown; encrypted: boolean }[]> {
  return ex.select({ key: settings.key, value: sql<unknown>`case when ${settings.encrypted} then null else ${settings.value} end`, encrypted: settings.encrypted }).from(settings)
}

/** Encrypted values (not cleared) written with a key other than `kid`: this server cannot read them. */
export async function countForeignEncrypted(ex: Executor, kid: string): Promise<number> {
  const result = await ex.execute(sql`
    select count(*)::int as count from settings
    where encrypted and value is not null and key_id is distinct from ${kid}`)
  return rowsOf<{ count: number }>(result)[0]!.count
}
