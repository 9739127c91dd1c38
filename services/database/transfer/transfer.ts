import { setTimeout as sleep } from 'node:timers/promises'
import type { MigrationFile } from '../migrator.js'
import { qualified } from './catalog.js'
import { tableSum } from './checksum.js'
import { readChunks } from './chunks.js'
import { transferError } from './errors.js'
import { checkSourceMigrations, checkTargetMigrations, readInventory, rowsOnTarget, writeSequences, type Inventory, type TableEntry } from './inventory.js'
import { PARTS, type TransferPart } from './parts.js'
import { createPartitions } from './partitions.js'
import { begin, type Session } from './sessions.js'

export type Progress =
  | { kind: 'table'; table: string; rows: number }
  | { kind: 'chunk'; table: string; copied: number; rows: number }
  | { kind: 'migration'; tag: string }
  | { kind: 'verify' }

export interface TransferOptions {
  migrations: MigrationFile[]
  parts?: TransferPart[]
  chunkRows?: number
  onProgress?(progress: Progress): void
  /** A pause after each chunk: the test that interrupts a transfer midway needs one (GROUNDWORK_TRANSFER_TEST_DELAY_MS). */
  delayMs?: number
}

export interface TransferPlan {
  inventory: Inventory
  /** Migrations the target lacks: applied in the transfer's transaction. */
  targetPending: string[]
  /** The target holds only an instance row (a server start or "db up" wrote it): it is replaced by the source's. */
  replacesTargetInstance: boolean
}

export interface TransferResult {
  tables: number
  rows: number
}

const INSTANCE = 'public.instance'

/** Reads the source and checks the target; changes nothing on either. Runs inside the source's snapshot when called by transfer(). */
export async function planTransfer(source: Session, target: Session, options: TransferOptions): Promise<TransferPlan> {
  await checkSourceMigrations(source, options.migrations, `The source database (${source.kind}, ${source.description})`)
  const { pending } = await checkTargetMigrations(target, options.migrations, `The target database (${target.kind}, ${target.description})`)
  const inventory = await readInventory(source, options.parts ?? PARTS)
  return { inventory, targetPending: pending, replacesTargetInstance: await checkTargetEmpty(target, inventory.tables) }
}

/**
 * Copies everything the parts own from source to target in ONE target transaction (migrations,
 * rows, sequences, verification), so an interruption at any point leaves the target as it was.
 * The source is only read, in one snapshot.
 */
export async function transfer(source: Session, target: Session, options: TransferOptions): Promise<TransferResult> {
  const report = options.onProgress ?? (() => undefined)
  await begin(source, 'snapshot')
  try {
    const plan = await planTransfer(source, target, options)
    await begin(target, 'write')
    try {
      for (const part of options.parts ?? PARTS) {
        await part.prepareTarget(target, { migrations: options.migrations, onApply: (tag) => report({ kind: 'migration', tag }) })
      }
      await createPartitions(target, plan.inventory.partitions)
      // Checked again under the migration lock: another process may have written since the plan.
      const replaceInstance = await checkTargetEmpty(target, plan.inventory.tables)
      if (replaceInstance) await target.query(`delete from ${qualified({ schema: 'public', name: 'instance' })}`)
      let rows = 0
      for (const table of plan.inventory.tables) rows += await copyTable(source, target, table, options)
      await writeSequences(target, plan.inventory.sequences)
      report({ kind: 'verify' })
      await verify(target, plan.inventory.tables)
      await target.query('commit')
      return { tables: plan.inventory.tables.length, rows }
    } catch (error) {
      await target.query('rollback').catch(() => undefined)
      throw error
    }
  } finally {
    await source.query('rollback').catch(() => undefined)
  }
}

async function copyTable(source: Session, target: Session, table: TableEntry, options: TransferOptions): Promise<number> {
  const name = `${table.schema}.${table.name}`
  const columns = table.columns.map((c) => `"${c.name.replaceAll('"', '""')}"`)
  options.onProgress?.({ kind: 'table', table: name, rows: table.rows })
  let copied = 0
  for await (const chunk of readChunks(source, table, options.chunkRows ?? 10_000)) {
    await target.copyIn(qualified(table), columns, chunk.data)
    copied += chunk.rows
    options.onProgress?.({ kind: 'chunk', table: name, copied, rows: table.rows })
    if (options.delayMs) await sleep(options.delayMs)
  }
  return copied
}

/** Counts and checksums computed by the target on its side must equal the source's. */
export async function verify(target: Session, tables: TableEntry[]): Promise<void> {
  const wrong: string[] = []
  for (const table of tables) {
    const sum = await tableSum(target, table)
    if (sum.rows !== table.rows) wrong.push(`${table.schema}.${table.name}: ${sum.rows} rows instead of ${table.rows}`)
    else if (sum.checksum !== table.checksum) wrong.push(`${table.schema}.${table.name}: same ${sum.rows} rows, different contents`)
  }
  if (wrong.length > 0) {
    throw transferError(
      'transfer_mismatch',
      `The copy does not match its source, so it was rolled back and the target is as it was: ${wrong.join('; ')}. Nothing was switched over. Please report this with the table names.`,
    )
  }
}

async function checkTargetEmpty(target: Session, tables: TableEntry[]): Promise<boolean> {
  const found = await rowsOnTarget(target, tables)
  const others = found.filter((f) => f.table !== INSTANCE)
  if (others.length === 0) return found.length === 1 && found[0]!.rows === 1
  throw transferError(
    'transfer_refused',
    `The target database (${target.kind}, ${target.description}) already holds data of groundwork: ${others.map((f) => `${f.table} has ${f.rows} row(s)`).join(', ')}. A transfer only fills an empty database, so nothing was changed. Point POSTGRES_*/DATABASE_URL at an empty database, or empty these tables yourself if that data is not needed.`,
  )
}
