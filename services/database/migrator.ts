import { createHash } from 'node:crypto'
import { readFile } from 'node:fs/promises'
import { join } from 'node:path'
import { sql } from 'drizzle-orm'
import { driverError, messageOf } from '../core/errors.js'
import type { Database, Executor } from './connection.js'
import { rowsOf } from './results.js'
import { databaseError } from './errors.js'

/** One file of drizzle/, as drizzle-kit wrote it. `when` and `hash` are what drizzle's journal table records. */
export interface MigrationFile {
  tag: string
  when: number
  hash: string
  statements: string[]
}

export interface AppliedMigration {
  hash: string
  createdAt: number
}

export interface MigrationState {
  total: number
  applied: number
  pending: string[]
  /** Recorded in the database but unknown to this build: the database is newer than the code. */
  unknown: number
  /** Applied, but the file has changed since: the database did not get the change. */
  changed: string[]
}

export interface MigrateResult extends MigrationState {
  /** Tags applied by this run, in order. */
  appliedNow: string[]
}

// An arbitrary constant: every instance takes the same advisory lock before migrating.
const MIGRATION_LOCK_KEY = 4_920_117_533_071_604n

/** Where a set of migrations records what it applied: drizzle's own table, or a plugin's in its schema. */
export interface Journal {
  schema: string
  table: string
  /** Named in error messages: "drizzle/" for ours, the plugin's folder for a plugin. */
  folder: string
  /** The command that regenerates this folder's migrations. */
  generate: string
  /** False when prepare() creates the schema (a plugin's role may not create schemas). */
  createSchema?: boolean
}

/** Ours: the same schema and table drizzle-kit migrate uses, so both tools share one record. */
export const CORE_JOURNAL: Journal = { schema: 'drizzle', table: '__drizzle_migrations', folder: 'drizzle/', generate: 'npm run db:generate' }

export interface MigrateOptions {
  journal?: Journal
  onApply?: (tag: string) => void
  /**
   * Runs inside the transaction, under the lock, before the journal is read: a plugin's run
   * creates its role and schema here and switches to its role, so its migrations run isolated.
   */
  prepare?: (tx: Executor) => Promise<void>
  /** Statements prepare() already did (drizzle-kit writes CREATE SCHEMA for a plugin's schema): not run, still hashed. */
  skip?: (statement: string) => boolean
}

function journalTable(journal: Journal) {
  return sql`${sql.identifier(journal.schema)}.${sql.identifier(journal.table)}`
}

/** Reads drizzle/meta/_journal.json and its SQL files. A missing or empty folder is an error, never "nothing to do". */
export async function readMigrations(folder: string, generate = CORE_JOURNAL.generate): Promise<MigrationFile[]> {
  const journalPath = join(folder, 'meta', '_journal.json')
  let journal: { entries?: { tag: string; when: number }[] }
  try {
    journal = JSON.parse(await readFile(journalPath, 'utf8'))
  } catch (error) {
    const reason = (error as NodeJS.ErrnoException).code === 'ENOENT' ? 'it does not exist' : `it cannot be read (${messageOf(error)})`
    throw databaseError(
      'migrations_missing',
      `The migrations journal ${journalPath} is missing or unreadable: ${reason}. The ${folder} folder must ship with the code (in a container image, copy it too); generate it with "${generate}".`,
      { cause: error },
    )
  }
  const entries = journal.entries ?? []
  if (entries.length === 0) {
    throw databaseError('migrations_missing', `The migrations journal ${journalPath} lists no migrations. Generate them with "${generate}".`)
  }
  return Promise.all(
    entries.map(async ({ tag, when }) => {
      const path = join(folder, `${tag}.sql`)
      let text: string
      try {
        text = await readFile(path, 'utf8')
      } catch (error) {
        throw databaseError('migrations_missing', `The migration file ${path} listed in ${journalPath} is missing. Restore it from git.`, { cause: error })
      }
      return {
        tag,
        when,
        hash: createHash('sha256').update(text).digest('hex'),
        statements: text.split('--> statement-breakpoint').filter((statement) => statement.trim() !== ''),
      }
    }),
  )
}

/** What would apply, without taking a lock or changing anything. */
export async function inspectMigrations(db: Executor, files: MigrationFile[], journal: Journal = CORE_JOURNAL): Promise<MigrationState> {
  const name = `${quoteIdentifier(journal.schema)}.${quoteIdentifier(journal.table)}`
  const [exists] = rowsOf<{ present: boolean }>(await db.execute(sql`select to_regclass(${name}) is not null as present`))
  const applied = exists?.present ? await readApplied(db, journal) : []
  return plan(files, applied, journal).state
}

/**
 * Applies every pending migration in one transaction, under an advisory lock so that instances
 * starting together apply each one exactly once. Any failure rolls everything back.
 */
export async function migrate(db: Database, files: MigrationFile[], options: MigrateOptions | ((tag: string) => void) = {}): Promise<MigrateResult> {
  const { journal = CORE_JOURNAL, onApply = () => {}, prepare, skip = () => false } = typeof options === 'function' ? { onApply: options } : options
  const table = journalTable(journal)
  return db.transaction(async (tx) => {
    await lockMigrations(tx)
    if (prepare) await prepare(tx)
    // drizzle-kit migrate creates the same schema and table: both tools share one record.
    if (journal.createSchema !== false) await tx.execute(sql`create schema if not exists ${sql.identifier(journal.schema)}`)
    await tx.execute(sql`create table if not exists ${table} (id serial primary key, hash text not null, created_at bigint)`)
    const { state, pending } = plan(files, await readApplied(tx, journal), journal)

    const appliedNow: string[] = []
    for (const migration of pending) {
      for (const [index, statement] of migration.statements.entries()) {
        if (skip(statement)) continue
        try {
          await tx.execute(sql.raw(statement))
        } catch (error) {
          throw databaseError(
            'migration_failed',
            `Migration ${migration.tag} failed at statement ${index + 1} of ${migration.statements.length}: ${messageOf(driverError(error))}. Nothing was applied (the whole run was rolled back). Fix ${journal.folder}${migration.tag}.sql or the database, then restart or run "npm run db:up".`,
            { cause: driverError(error), details: { migration: migration.tag } },
          )
        }
      }
      await tx.execute(sql`insert into ${table} (hash, created_at) values (${migration.hash}, ${migration.when})`)
      onApply(migration.tag)
      appliedNow.push(migration.tag)
    }
    return { ...state, applied: state.applied + appliedNow.length, pending: [], appliedNow }
  })
}

/** The lock every migration run takes (ours and every plugin's), and `plugin drop` too: one change to the schema at a time. */
export async function lockMigrations(tx: Executor): Promise<void> {
  await tx.execute(sql`select pg_advisory_xact_lock(${MIGRATION_LOCK_KEY})`)
}

function quoteIdentifier(name: string): string {
  return `"${name.replaceAll('"', '""')}"`
}

async function readApplied(db: Executor, journal: Journal): Promise<AppliedMigration[]> {
  const rows = rowsOf<{ hash: string; created_at: string | number }>(await db.execute(sql`select hash, created_at from ${journalTable(journal)} order by created_at`))
  return rows.map((row) => ({ hash: row.hash, createdAt: Number(row.created_at) }))
}

function plan(files: MigrationFile[], applied: AppliedMigration[], journal: Journal): { state: MigrationState; pending: MigrationFile[] } {
  const appliedAt = new Set(applied.map((row) => row.createdAt))
  const newest = applied.reduce((max, row) => Math.max(max, row.createdAt), -Infinity)
  const pending = files.filter((file) => !appliedAt.has(file.when))
  // drizzle's own migrator skips these silently, leaving the schema without them forever.
  const outOfOrder = pending.filter((file) => file.when < newest)
  if (outOfOrder.length > 0) {
    const names = outOfOrder.map((file) => file.tag).join(', ')
    throw databaseError(
      'migrations_out_of_order',
      `Migration ${names} was never applied but is older than the newest applied one, so it would be skipped. It was probably generated on a branch merged after a newer migration ran. Regenerate it so it comes last: remove it from ${journal.folder} (the .sql file, its snapshot and its journal entry) and run "${journal.generate}" again.`,
      { details: { migrations: outOfOrder.map((file) => file.tag) } },
    )
  }
  const known = new Set(files.map((file) => file.when))
  const appliedHash = new Map(applied.map((row) => [row.createdAt, row.hash]))
  return {
    state: {
      total: files.length,
      applied: files.length - pending.length,
      pending: pending.map((file) => file.tag),
      unknown: applied.filter((row) => !known.has(row.createdAt)).length,
      changed: files.filter((file) => appliedHash.has(file.when) && appliedHash.get(file.when) !== file.hash).map((file) => file.tag),
    },
    pending,
  }
}
