import { createHash } from 'node:crypto'
import { readFile } from 'node:fs/promises'
import { join } from 'node:path'
import { sql } from 'drizzle-orm'
import { driverError, messageOf } from '../core/errors.js'
import type { Database } from './connection.js'
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

const JOURNAL_TABLE = sql`"drizzle"."__drizzle_migrations"`

/** Reads drizzle/meta/_journal.json and its SQL files. A missing or empty folder is an error, never "nothing to do". */
export async function readMigrations(folder: string): Promise<MigrationFile[]> {
  const journalPath = join(folder, 'meta', '_journal.json')
  let journal: { entries?: { tag: string; when: number }[] }
  try {
    journal = JSON.parse(await readFile(journalPath, 'utf8'))
  } catch (error) {
    const reason = (error as NodeJS.ErrnoException).code === 'ENOENT' ? 'it does not exist' : `it cannot be read (${messageOf(error)})`
    throw databaseError(
      'migrations_missing',
      `The migrations journal ${journalPath} is missing or unreadable: ${reason}. The drizzle/ folder must ship with the service (in a container image, copy it next to package.json); generate it with "npm run db:generate".`,
      { cause: error },
    )
  }
  const entries = journal.entries ?? []
  if (entries.length === 0) {
    throw databaseError('migrations_missing', `The migrations journal ${journalPath} lists no migrations. Generate them with "npm run db:generate".`)
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
export async function inspectMigrations(db: Database, files: MigrationFile[]): Promise<MigrationState> {
  const [exists] = rowsOf<{ present: boolean }>(await db.execute(sql`select to_regclass('drizzle.__drizzle_migrations') is not null as present`))
  const applied = exists?.present ? await readApplied(db) : []
  return plan(files, applied).state
}

/**
 * Applies every pending migration in one transaction, under an advisory lock so that instances
 * starting together apply each one exactly once. Any failure rolls everything back.
 */
export async function migrate(db: Database, files: MigrationFile[], onApply: (tag: string) => void = () => {}): Promise<MigrateResult> {
  return db.transaction(async (tx) => {
    await tx.execute(sql`select pg_advisory_xact_lock(${MIGRATION_LOCK_KEY})`)
    // drizzle-kit migrate creates the same schema and table: both tools share one record.
    await tx.execute(sql`create schema if not exists "drizzle"`)
    await tx.execute(sql`create table if not exists ${JOURNAL_TABLE} (id serial primary key, hash text not null, created_at bigint)`)
    const { state, pending } = plan(files, await readApplied(tx as unknown as Database))

    const appliedNow: string[] = []
    for (const migration of pending) {
      for (const [index, statement] of migration.statements.entries()) {
        try {
          await tx.execute(sql.raw(statement))
        } catch (error) {
          throw databaseError(
            'migration_failed',
            `Migration ${migration.tag} failed at statement ${index + 1} of ${migration.statements.length}: ${messageOf(driverError(error))}. Nothing was applied (the whole run was rolled back). Fix drizzle/${migration.tag}.sql or the database, then restart or run "npm run db:up".`,
            { cause: driverError(error), details: { migration: migration.tag } },
          )
        }
      }
      await tx.execute(sql`insert into ${JOURNAL_TABLE} (hash, created_at) values (${migration.hash}, ${migration.when})`)
      onApply(migration.tag)
      appliedNow.push(migration.tag)
    }
    return { ...state, applied: state.applied + appliedNow.length, pending: [], appliedNow }
  })
}

async function readApplied(db: Database): Promise<AppliedMigration[]> {
  const rows = rowsOf<{ hash: string; created_at: string | number }>(await db.execute(sql`select hash, created_at from ${JOURNAL_TABLE} order by created_at`))
  return rows.map((row) => ({ hash: row.hash, createdAt: Number(row.created_at) }))
}

function plan(files: MigrationFile[], applied: AppliedMigration[]): { state: MigrationState; pending: MigrationFile[] } {
  const appliedAt = new Set(applied.map((row) => row.createdAt))
  const newest = applied.reduce((max, row) => Math.max(max, row.createdAt), -Infinity)
  const pending = files.filter((file) => !appliedAt.has(file.when))
  // drizzle's own migrator skips these silently, leaving the schema without them forever.
  const outOfOrder = pending.filter((file) => file.when < newest)
  if (outOfOrder.length > 0) {
    const names = outOfOrder.map((file) => file.tag).join(', ')
    throw databaseError(
      'migrations_out_of_order',
      `Migration ${names} was never applied but is older than the newest applied one, so it would be skipped. It was probably generated on a branch merged after a newer migration ran. Regenerate it so it comes last: remove it from drizzle/ (the .sql file, its snapshot and its journal entry) and run "npm run db:generate" again.`,
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
