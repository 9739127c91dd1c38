import { randomUUID } from 'node:crypto'
import { PGlite } from '@electric-sql/pglite'
import { sql } from 'drizzle-orm'
import pg from 'pg'
import pino from 'pino'
import { loadConfig } from '../../services/core/config.js'
import { openConnection, type Database } from '../../services/database/connection.js'
import { rowsOf } from '../../services/database/results.js'
import { instance } from '../../services/database/schema.js'
import { definitionModules } from '../../services/settings/definitions/index.js'
import { loadEncryptionKey } from '../../services/settings/encryption-key.js'
import { buildRegistry } from '../../services/settings/registry.js'
import { SettingsService } from '../../services/settings/service.js'

export const SMTP_PASSWORD = 'pässwörd 🔑 with "quotes"'
const OUR_TABLES = ['instance', 'kv_entries', 'settings', 'settings_groups', 'settings_meta']

/** The settings service on `db` with the key of `dataDir` (its key file, or ENCRYPTION_SECRET when given). */
export async function settingsOn(db: Database, dataDir: string, type: string): Promise<SettingsService> {
  const log = pino({ level: 'silent' })
  const service = new SettingsService(() => db, buildRegistry(definitionModules), { log, encryption: await loadEncryptionKey(null, dataDir, log), databaseType: () => type })
  await service.start(db)
  return service
}

/**
 * The settings service on the installation `env` describes, as a server would start it: its
 * selected database (DB_TYPE, else the embedded one), its PERSISTENT_DATA_DIR's key file
 * (generated there if missing). Closed when `use` returns.
 */
export async function withSettingsIn<T>(env: Record<string, string>, use: (settings: SettingsService) => Promise<T>): Promise<T> {
  const config = loadConfig({ LOG_LEVEL: 'silent', ...env })
  const type = config.dbType ?? 'pglite'
  const connection = await openConnection(type, config, pino({ level: 'silent' }))
  try {
    connection.started()
    return await use(await settingsOn(connection.db, config.persistentDataDir, type))
  } finally {
    await connection.close()
  }
}

/**
 * Every table of ours with rows: the instance, settings (an encrypted one among them), and `kvRows`
 * KV entries made by generate_series (JSON with unicode, escapes and floats; times from several zones).
 */
export async function populate(db: Database, dataDir: string, type: string, kvRows: number): Promise<void> {
  await db.insert(instance).values({ id: randomUUID(), databaseType: type }).onConflictDoNothing()
  const settings = await settingsOn(db, dataDir, type)
  await settings.set('smtp.password', SMTP_PASSWORD)
  await settings.set('smtp.host', 'mail.exämple.org')
  await db.execute(sql`
    insert into kv_entries (key, value, created_at, updated_at)
    select 'user/' || lpad(i::text, 7, '0') || case when i % 7 = 0 then '/ключ/日本' else '' end,
      jsonb_build_object('i', i, 'ratio', i / 7.0, 'float', (i::float8 / 3), 'text', E'tab\\there, line\\nbreak, back\\\\slash ' || chr(233) || chr(128512),
        'nested', jsonb_build_array(i, null, true, jsonb_build_object('deep', repeat('x', i % 50)))),
      (timestamptz '2024-03-10 01:59:59 America/New_York') + i * interval '37 seconds',
      (timestamp '2023-10-29 02:30:00' at time zone 'Europe/Berlin') + i * interval '1 second'
    from generate_series(1, ${kvRows}) as i`)
}

/** Each table's row count and an md5 over its rows in a fixed order, in UTC: equal digests, equal data. */
export type Digest = Record<string, { rows: number; md5: string }>

async function digestWith(query: (text: string) => Promise<Record<string, unknown>[]>): Promise<Digest> {
  await query(`set local timezone = 'UTC'`)
  await query(`set local extra_float_digits = 1`)
  const digest: Digest = {}
  for (const table of OUR_TABLES) {
    const [row] = await query(`select count(*)::int as rows, md5(coalesce(string_agg(t::text, '|' order by t::text collate "C"), '')) as md5 from public.${table} t`)
    digest[table] = { rows: Number(row!.rows), md5: String(row!.md5) }
  }
  return digest
}

/** The same digest through the application's own connection (either kind). */
export async function digestDatabase(db: Database): Promise<Digest> {
  return db.transaction((tx) => digestWith(async (text) => rowsOf<Record<string, unknown>>(await tx.execute(sql.raw(text)))))
}

export async function digestPostgres(url: string): Promise<Digest> {
  const client = new pg.Client({ connectionString: url })
  await client.connect()
  try {
    await client.query('begin')
    return await digestWith(async (text) => (await client.query(text)).rows)
  } finally {
    await client.end()
  }
}

export async function digestPglite(dataDir: string): Promise<Digest> {
  const client = new PGlite(dataDir)
  try {
    await client.query('begin')
    return await digestWith(async (text) => (await client.query<Record<string, unknown>>(text)).rows)
  } finally {
    await client.close()
  }
}
