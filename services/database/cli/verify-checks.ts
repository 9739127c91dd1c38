import { sql } from 'drizzle-orm'
import type { FastifyBaseLogger } from 'fastify'
import type { Config } from '../../core/config.js'
import { isServiceError, messageOf } from '../../core/errors.js'
import { readEncryptionKey } from '../../settings/encryption-key.js'
import { KEY_META } from '../../settings/initialize.js'
import type { KeyIdentity } from '../../settings/cipher.js'
import { ourTableNames } from '../../setup-wizard/our-tables.js'
import type { Database } from '../connection.js'
import { inspectMigrations, readMigrations } from '../migrator.js'
import { rowsOf } from '../results.js'

/** Everything `db verify` finds wrong with a database, one sentence each; empty when all is well. */
export async function verifyDatabase(db: Database, config: Config, log: FastifyBaseLogger): Promise<string[]> {
  return [...(await migrationProblems(db, config)), ...(await tableProblems(db)), ...(await keyProblems(db, config, log))]
}

async function migrationProblems(db: Database, config: Config): Promise<string[]> {
  let state
  try {
    state = await inspectMigrations(db, await readMigrations(config.migrationsFolder))
  } catch (error) {
    return [`migrations: ${isServiceError(error) ? error.message : messageOf(error)}`]
  }
  const problems: string[] = []
  for (const tag of state.pending) problems.push(`migration ${tag} is not applied: run "npm run db -- up" (or restart the server)`)
  for (const tag of state.changed) problems.push(`migration ${tag} was applied with a different hash: drizzle/${tag}.sql changed afterwards; restore it from git and put the change in a new migration`)
  if (state.unknown > 0) problems.push(`the database records ${state.unknown} migration(s) this build does not have: it was migrated by a newer version of the application`)
  return problems
}

/** Our tables must all be there; in the schema they live in, no table may be foreign to ours. */
async function tableProblems(db: Database): Promise<string[]> {
  const [current] = rowsOf<{ schema: string }>(await db.execute(sql`select current_schema() as schema`))
  const schema = current?.schema ?? 'public'
  const ours = ourTableNames(schema)
  const found = rowsOf<{ name: string }>(
    await db.execute(sql`
      select n.nspname || '.' || c.relname as name from pg_class c join pg_namespace n on n.oid = c.relnamespace
       where c.relkind in ('r', 'p') and (n.nspname = ${schema} or n.nspname || '.' || c.relname in ${[...ours]})`),
  ).map((row) => row.name)
  const present = new Set(found)
  const problems = [...ours].filter((name) => !present.has(name)).map((name) => `table ${name} of our schema is missing`)
  for (const name of found.filter((name) => !ours.has(name)).sort()) problems.push(`table ${name} is not part of our schema: drop it, or move it to a schema of its own`)
  return problems
}

async function keyProblems(db: Database, config: Config, log: FastifyBaseLogger): Promise<string[]> {
  const [present] = rowsOf<{ yes: boolean }>(await db.execute(sql`select to_regclass('settings_meta') is not null as yes`))
  if (!present?.yes) return []
  const [row] = rowsOf<{ value: string }>(await db.execute(sql`select value from settings_meta where name = ${KEY_META}`))
  if (!row) return [] // the settings service has not started on this database yet: nothing recorded to compare
  const recorded = JSON.parse(row.value) as KeyIdentity
  let key
  try {
    key = await readEncryptionKey(config.encryptionSecret, config.persistentDataDir, log)
  } catch (error) {
    return [`settings key: ${messageOf(error)}`]
  }
  if (!key) {
    return [
      `settings key: the database's encrypted settings were written with key ${recorded.kid}, but neither ENCRYPTION_SECRET nor ${config.persistentDataDir}/encryption.key is there: restore the key file from a backup, or set ENCRYPTION_SECRET to the secret in use`,
    ]
  }
  if (key.fingerprint !== recorded.fingerprint) {
    const from = key.source === 'environment' ? 'ENCRYPTION_SECRET' : key.file
    return [`settings key: the key from ${from} (id ${key.kid}) is not the one the database recorded (id ${recorded.kid}): the encrypted settings cannot be read with it; use the key or secret that wrote them`]
  }
  return []
}
