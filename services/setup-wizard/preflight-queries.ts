import { drizzle } from 'drizzle-orm/node-postgres'
import type pg from 'pg'
import type { Database } from '../database/connection.js'
import { inspectMigrations, type MigrationFile } from '../database/migrator.js'
import type { PostgresTarget } from '../database/postgres-settings.js'
import * as schema from '../schema.js'
import { BOSS_SCHEMA } from '../jobs/repository.js'
import { ourTableNames } from './our-tables.js'
import type { CheckOutcome } from './preflight.js'

/**
 * A policy floor, not a limit found by testing older servers: majors below 13 have long been out
 * of upstream support, and CI runs on a current major.
 */
export const MIN_SERVER_VERSION = 13

const JOURNAL = 'drizzle.__drizzle_migrations'
const LISTED_TABLES = 5

export async function inspectVersion(client: pg.Client): Promise<CheckOutcome> {
  const { rows } = await client.query<{ num: string; version: string }>(
    `select current_setting('server_version_num') as num, current_setting('server_version') as version`,
  )
  const version = rows[0]?.version ?? '?'
  const major = Math.floor(Number(rows[0]?.num ?? 0) / 10_000)
  if (major >= MIN_SERVER_VERSION) {
    return { status: 'passed', detail: `PostgreSQL ${version}: version ${MIN_SERVER_VERSION} or newer is supported.`, remedy: null }
  }
  return {
    status: 'failed',
    detail: `PostgreSQL ${version} is too old: ${MIN_SERVER_VERSION} or newer is required.`,
    remedy: `Upgrade the server to PostgreSQL ${MIN_SERVER_VERSION} or newer (pg_upgrade, or a dump and restore), or point the connection settings at a newer server.`,
  }
}

/**
 * Asks PostgreSQL whether the migrations could run, without trying: CREATE on the schema the
 * tables land in, and on the database for the "drizzle" schema that records them (or on that
 * schema, when it exists). Superusers pass every privilege check.
 */
export async function inspectPermissions(client: pg.Client, target: PostgresTarget): Promise<CheckOutcome> {
  const { rows } = await client.query<{ role: string; schema: string | null; schema_create: boolean; drizzle_exists: boolean; journal_create: boolean }>(`
    select current_user as role,
           current_schema() as schema,
           coalesce(has_schema_privilege(current_schema(), 'CREATE'), false) as schema_create,
           to_regnamespace('drizzle') is not null as drizzle_exists,
           case when to_regnamespace('drizzle') is not null
                then has_schema_privilege('drizzle', 'CREATE') and has_schema_privilege('drizzle', 'USAGE')
                else has_database_privilege(current_database(), 'CREATE') end as journal_create`)
  const row = rows[0]
  if (!row) throw new Error('the privilege query returned no row')
  const role = `"${row.role}"`
  const database = `"${target.database}"`
  if (row.schema === null) {
    return {
      status: 'failed',
      detail: `No schema on the search_path of user ${role} exists, so there is nowhere to create tables.`,
      remedy: `Create one (CREATE SCHEMA AUTHORIZATION ${role};) or fix the search_path (ALTER ROLE ${role} SET search_path = public;).`,
    }
  }
  const grants: string[] = []
  if (!row.schema_create) grants.push(`GRANT CREATE ON SCHEMA "${row.schema}" TO ${role};`)
  if (!row.journal_create) grants.push(row.drizzle_exists ? `GRANT USAGE, CREATE ON SCHEMA drizzle TO ${role};` : `GRANT CREATE ON DATABASE ${database} TO ${role};`)
  if (grants.length === 0) {
    return { status: 'passed', detail: `User ${role} may create tables in schema "${row.schema}" and the "drizzle" schema that records migrations.`, remedy: null }
  }
  const missing = [!row.schema_create && `tables in schema "${row.schema}"`, !row.journal_create && (row.drizzle_exists ? 'tables in schema "drizzle"' : 'the "drizzle" schema')]
  return {
    status: 'failed',
    detail: `User ${role} may not create ${missing.filter(Boolean).join(' or ')}.`,
    remedy: `As the database owner or a superuser, run: ${grants.join(' ')} (Since PostgreSQL 15 only the owner may create in "public" by default; making ${role} the owner also works: ALTER DATABASE ${database} OWNER TO ${role};)`,
  }
}

/** Empty, one of ours (and how far migrated), or someone else's tables. */
export async function inspectContents(client: pg.Client, migrations: MigrationFile[]): Promise<CheckOutcome> {
  const { rows } = await client.query<{ name: string; current: string | null }>(`
    select n.nspname || '.' || c.relname as name, current_schema() as current
      from pg_class c join pg_namespace n on n.oid = c.relnamespace
     where c.relkind in ('r', 'p', 'v', 'm', 'f')
       and n.nspname not in ('pg_catalog', 'information_schema')
       and n.nspname not like 'pg\\_%'
     order by 1`)
  const ours = ourTableNames(rows[0]?.current ?? 'public')
  const present = rows.map((row) => row.name)
  const total = migrations.length

  let applied = 0
  let pending = total
  let unknown = 0
  if (present.includes(JOURNAL)) {
    const state = await inspectMigrations(drizzle({ client, schema }) as unknown as Database, migrations)
    applied = state.applied
    pending = state.pending.length
    unknown = state.unknown
  }
  const isOurs = applied > 0
  // The job queue's tables (pg-boss, in its own schema) are ours too once our migrations are.
  const others = present.filter((name) => name !== JOURNAL && !(isOurs && (ours.has(name) || name.startsWith(`${BOSS_SCHEMA}.`))))

  if (!isOurs) {
    const clashes = others.filter((name) => ours.has(name))
    if (clashes.length > 0) {
      return {
        status: 'failed',
        detail: `${list(clashes)} already ${clashes.length === 1 ? 'exists' : 'exist'}, but no groundwork migration was ever recorded here: the setup would fail creating ${clashes.length === 1 ? 'it' : 'them'}.`,
        remedy: 'Use an empty database (create one and point the connection settings at it), or, if these tables are left over from an attempt you no longer need, drop them.',
      }
    }
  }

  if (others.length > 0) {
    const foreign = unknown > 0 && !isOurs ? ' and migrations recorded by another application' : ''
    return {
      status: 'warning',
      detail: `The database holds ${others.length} table${others.length === 1 ? '' : 's'} that groundwork did not create (${list(others)})${foreign}.${isOurs ? ` It is also one of ours: ${progress(applied, total, pending)}` : ''}`,
      remedy:
        'Setting up adds groundwork\'s tables next to them and never touches theirs, but sharing a database with another application makes backups, restores and upgrades harder. Prefer an empty database; continue only if this is intended.',
    }
  }
  if (isOurs) {
    return { status: 'passed', detail: `A groundwork database: ${progress(applied, total, pending)}`, remedy: null }
  }
  return { status: 'passed', detail: `The database is empty: the setup will create groundwork's tables (${total} migration${total === 1 ? '' : 's'}).`, remedy: null }
}

function progress(applied: number, total: number, pending: number): string {
  const done = `${applied} of ${total} migration${total === 1 ? '' : 's'} applied`
  return pending === 0 ? `${done}; the setup will use it as it is.` : `${done}; the setup will apply the ${pending} pending.`
}

function list(names: string[]): string {
  const shown = names.slice(0, LISTED_TABLES).join(', ')
  return names.length > LISTED_TABLES ? `${shown} and ${names.length - LISTED_TABLES} more` : shown
}
