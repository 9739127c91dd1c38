import { sql } from 'drizzle-orm'
import type { FastifyBaseLogger } from 'fastify'
import type { Config } from '../../core/config.js'
import { isServiceError, messageOf } from '../../core/errors.js'
import { loadPlugins, pluginSettingsGroups } from '../../plugins/loader.js'
import { definitionModules } from '../../settings/definitions/index.js'
import { buildRegistry } from '../../settings/registry.js'
import { misfits } from '../../settings/values.js'
import { countForeignEncrypted, storedValues } from '../../settings/repository.js'
import { secretsHeld } from '../../settings/secrets-held.js'
import { ourTableNames } from '../../setup-wizard/our-tables.js'
import type { Database } from '../connection.js'
import { inspectMigrations, readMigrations } from '../migrator.js'
import { rowsOf } from '../results.js'
import { drizzleQuery } from '../table-stats.js'
import { compareKey, strandedValues } from './key-notes.js'

/** Everything `db verify` finds wrong with a database, one sentence each; empty when all is well. */
export async function verifyDatabase(db: Database, config: Config, log: FastifyBaseLogger): Promise<string[]> {
  return [...(await migrationProblems(db, config)), ...(await tableProblems(db)), ...(await keyProblems(db, config, log)), ...(await valueProblems(db, config))]
}

/** Stored values (not encrypted) their definition, ours or an installed plugin's, no longer accepts: the server warns about them at start. */
async function valueProblems(db: Database, config: Config): Promise<string[]> {
  const registry = buildRegistry({ ...definitionModules, ...pluginSettingsGroups(await loadPlugins(config)) })
  return misfits(registry, await storedValues(db)).map(
    ({ key, problem }) => `setting ${key}: its stored value no longer fits its definition (${problem}): set it again (PUT /api/settings/${key}) or reset it to its default (DELETE)`,
  )
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
  const { recorded } = await secretsHeld(drizzleQuery(db))
  if (!recorded) return [] // the settings service has not started on this database yet: nothing recorded to compare
  const comparison = await compareKey(config, recorded, log)
  if (comparison.kind === 'unusable') return [`settings key: ${comparison.message}`]
  if (comparison.kind === 'missing') {
    return [
      `settings key: the database's encrypted settings were written with key ${recorded.kid}, but neither ENCRYPTION_SECRET nor ${config.persistentDataDir}/encryption.key is there: restore the key file from a backup, or set ENCRYPTION_SECRET to the secret in use`,
    ]
  }
  if (comparison.kind === 'differs') {
    const from = comparison.key.source === 'environment' ? 'ENCRYPTION_SECRET' : comparison.key.file
    return [`settings key: the key from ${from} (id ${comparison.key.kid}) is not the one the database recorded (id ${recorded.kid}): the encrypted settings cannot be read with it; use the key or secret that wrote them`]
  }
  const stranded = await countForeignEncrypted(db, recorded.kid)
  if (stranded > 0) {
    return [`settings key: ${strandedValues(stranded, `the one recorded (id ${recorded.kid})`)}`]
  }
  return []
}
