import { sql } from 'drizzle-orm'
import { rowsOf } from '../results.js'
import { inspectMigrations, type MigrationFile } from '../migrator.js'
import { qualified, quoteLiteral, readSequences, readTables, type SequenceInfo, type TableInfo } from './catalog.js'
import { tableSum, type TableSum } from './checksum.js'
import { transferError } from './errors.js'
import type { TransferPart } from './parts.js'
import { readPartitions, type PartitionInfo } from './partitions.js'
import type { Session } from './sessions.js'

export interface TableEntry extends TableInfo, TableSum {
  part: string
}

export interface SequenceValue extends SequenceInfo {
  lastValue: string
  isCalled: boolean
}

export interface Inventory {
  tables: TableEntry[]
  sequences: SequenceValue[]
  /** Partitions of the tables above, parents first: created on the target before the copy. */
  partitions: PartitionInfo[]
  /** The source's drizzle journal, oldest first. */
  migrations: { hash: string; createdAt: number }[]
}

/** What the parts own on `session`, with row counts and checksums. Run it inside a snapshot so the numbers match the data copied. */
export async function readInventory(session: Session, parts: TransferPart[]): Promise<Inventory> {
  const schemas = [...new Set(parts.flatMap((p) => p.schemas))]
  const partOf = (table: { schema: string; name: string }) => parts.find((p) => p.schemas.includes(table.schema) && (p.owns?.(table) ?? true))
  const tables: TableEntry[] = []
  for (const table of await readTables(session, schemas)) {
    const part = partOf(table)
    if (part) tables.push({ ...table, part: part.name, ...(await tableSum(session, table)) })
  }
  const owned = new Set(tables.map((t) => `${t.schema}.${t.name}`))
  const sequences: SequenceValue[] = []
  for (const sequence of await readSequences(session, schemas)) {
    const part = parts.find((p) => p.schemas.includes(sequence.schema))
    if (sequence.owner ? !owned.has(sequence.owner) : part?.owns) continue
    const [value] = await session.query<{ last_value: string; is_called: boolean }>(`select last_value::text as last_value, is_called from ${qualified(sequence)}`)
    sequences.push({ ...sequence, lastValue: value!.last_value, isCalled: value!.is_called })
  }
  const partitions = (await readPartitions(session, schemas)).filter((partition) => partOf(partition))
  return { tables, sequences, partitions, migrations: await readJournal(session) }
}

export async function readJournal(session: Session): Promise<{ hash: string; createdAt: number }[]> {
  const [exists] = await session.query<{ present: boolean }>(`select to_regclass('drizzle.__drizzle_migrations') is not null as present`)
  if (!exists?.present) return []
  const rows = rowsOf<{ hash: string; created_at: string }>(await session.db.execute(sql`select hash, created_at::text as created_at from drizzle.__drizzle_migrations order by created_at`))
  return rows.map((row) => ({ hash: row.hash, createdAt: Number(row.created_at) }))
}

export async function writeSequences(session: Session, sequences: SequenceValue[]): Promise<void> {
  for (const sequence of sequences) {
    await session.query(`select setval(${quoteLiteral(qualified(sequence))}::regclass, ${sequence.lastValue}::bigint, ${sequence.isCalled})`)
  }
}

/** The source must be exactly at this build's migrations: the target gets this build's schema. */
export async function checkSourceMigrations(session: Session, files: MigrationFile[], what: string): Promise<void> {
  const state = await inspectMigrations(session.db, files)
  if (state.unknown > 0) {
    throw transferError('transfer_refused', `${what} has ${state.unknown} migration(s) this build does not know: it was migrated by a newer version of groundwork. Run this command with that version.`)
  }
  if (state.changed.length > 0) {
    throw transferError('transfer_refused', `${what} applied ${state.changed.join(', ')} from a different file than this build's drizzle/ folder. Check out the version that migrated it.`)
  }
  if (state.pending.length > 0) {
    throw transferError(
      'transfer_refused',
      `${what} is not up to date: ${state.pending.length} migration(s) of this build are not applied (${state.pending.join(', ')}). Run "npm run db -- up" on it first (or start the server once), then try again.`,
    )
  }
}

/** Tables of ours holding rows on the target, with their counts; the target must have none (a lone instance row excepted, see transfer.ts). */
export async function rowsOnTarget(session: Session, tables: TableInfo[]): Promise<{ table: string; rows: number }[]> {
  const found: { table: string; rows: number }[] = []
  for (const table of tables) {
    const [exists] = await session.query<{ present: boolean }>(`select to_regclass(${quoteLiteral(qualified(table))}) is not null as present`)
    if (!exists?.present) continue
    const [count] = await session.query<{ n: string }>(`select count(*)::text as n from ${qualified(table)}`)
    if (Number(count!.n) > 0) found.push({ table: `${table.schema}.${table.name}`, rows: Number(count!.n) })
  }
  return found
}

/** The target may lack migrations (they are applied) but must not have others or changed ones. */
export async function checkTargetMigrations(session: Session, files: MigrationFile[], what: string): Promise<{ pending: string[] }> {
  const state = await inspectMigrations(session.db, files)
  if (state.unknown > 0 || state.changed.length > 0) {
    const why = state.unknown > 0 ? `${state.unknown} migration(s) this build does not know` : `${state.changed.join(', ')} applied from a different file`
    throw transferError(
      'transfer_refused',
      `${what} is at different migrations than this build (${why}). It was set up by another version or another application: use an empty database instead, or drop its tables and its "drizzle" schema.`,
    )
  }
  return { pending: state.pending }
}
