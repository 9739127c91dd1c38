import { randomBytes } from 'node:crypto'
import { rename, rm, stat } from 'node:fs/promises'
import { basename, dirname, join } from 'node:path'
import { removeIfInterrupted } from '../../core/interrupt-cleanup.js'
import { findProjectRoot } from '../../core/project-root.js'
import type { Database } from '../connection.js'
import { migrate, readMigrations, type MigrationFile } from '../migrator.js'
import { qualified, quoteIdent } from './catalog.js'
import { BackupWriter, FORMAT_VERSION, readBackup, type BackupHeader } from './backup-file.js'
import { readChunks } from './chunks.js'
import { withDatabaseSession } from './database-session.js'
import { transferError } from './errors.js'
import { checkSourceMigrations, checkTargetMigrations, readInventory, rowsOnTarget, writeSequences, type TableEntry } from './inventory.js'
import { PARTS, type TransferPart } from './parts.js'
import { createPartitions, type PartitionInfo } from './partitions.js'
import { verify } from './transfer.js'

export interface LogicalBackupOptions {
  /** drizzle/ of this build by default. */
  migrationsFolder?: string
  parts?: TransferPart[]
  chunkRows?: number
}

/** Where a logical backup is written before its check: hidden, with the writer's pid (read back by removeAbandonedTemps()). */
export function logicalBackupTempPath(file: string, pid = process.pid, tag = randomBytes(4).toString('hex')): string {
  return join(dirname(file), `.${basename(file)}.${pid}.${tag}.tmp`)
}

/**
 * Writes everything the parts own to `file`, read in one snapshot, as a temp file beside it that
 * is read back and checked in full before it is renamed into place: `file` is either absent or a
 * complete, verified backup.
 */
export async function writeLogicalBackup(db: Database, file: string, options: LogicalBackupOptions = {}): Promise<{ tables: number; rows: number; bytes: number }> {
  const files = await migrationsOf(options)
  const temp = logicalBackupTempPath(file)
  const forget = removeIfInterrupted(temp)
  try {
    const header = await withDatabaseSession(db, 'snapshot', async (session) => {
      await checkSourceMigrations(session, files, `The database (${session.kind})`)
      const inventory = await readInventory(session, options.parts ?? PARTS)
      const header: BackupHeader = { version: FORMAT_VERSION, createdAt: new Date().toISOString(), sourceKind: session.kind, ...inventory }
      const writer = new BackupWriter(temp, header)
      try {
        for (const [index, table] of header.tables.entries()) {
          for await (const chunk of readChunks(session, table, options.chunkRows ?? 10_000)) await writer.frame(index, chunk.data, chunk.rows)
        }
        await writer.finish()
      } catch (error) {
        await writer.abort()
        throw error
      }
      return header
    })
    await readBackup(temp, async () => undefined, async () => undefined)
    await rename(temp, file)
    return { tables: header.tables.length, rows: header.tables.reduce((sum, t) => sum + t.rows, 0), bytes: (await stat(file)).size }
  } catch (error) {
    await rm(temp, { force: true })
    throw error
  } finally {
    forget()
  }
}

/**
 * Loads a logical backup into an EMPTY database in one transaction: the migrations the backup was
 * taken at, its rows and sequences, a check of every table's count and checksum, then this
 * build's newer migrations. Any failure rolls all of it back.
 */
export async function restoreLogicalBackup(file: string, db: Database, options: LogicalBackupOptions = {}): Promise<{ tables: number; rows: number }> {
  const files = await migrationsOf(options)
  return withDatabaseSession(db, 'write', async (session) => {
    await checkTargetMigrations(session, files, `The target database (${session.kind})`)
    let targets: { table: string; columns: string[] }[] = []
    const header = await readBackup(
      file,
      async (header) => {
        const taken = prefixOf(files, header, file)
        const parts = options.parts ?? PARTS
        for (const part of parts) await part.prepareTarget(session, { migrations: taken })
        await createPartitions(session, header.partitions ?? partitionsByName(header.tables, parts))
        const found = await rowsOnTarget(session, header.tables)
        if (found.some((f) => f.table !== 'public.instance') || found.length > 1) {
          throw transferError('transfer_refused', `A backup is restored only into an empty database, and this one holds data: ${found.map((f) => `${f.table} has ${f.rows} row(s)`).join(', ')}. Nothing was changed.`)
        }
        // A lone instance row comes from a server start or "db up": the backup's replaces it.
        if (found.length === 1) await session.query('delete from public.instance')
        targets = header.tables.map((table) => ({ table: qualified(table), columns: table.columns.map((c) => quoteIdent(c.name)) }))
      },
      (index, data) => session.copyIn(targets[index]!.table, targets[index]!.columns, data),
    )
    await writeSequences(session, header.sequences)
    await verify(session, header.tables)
    await migrate(session.db, files)
    return { tables: header.tables.length, rows: header.tables.reduce((sum, t) => sum + t.rows, 0) }
  })
}

/** A backup written before partitions were recorded lists them as tables: their parts know them by name. */
function partitionsByName(tables: TableEntry[], parts: TransferPart[]): PartitionInfo[] {
  return tables.flatMap((table) => {
    const part = parts.find((p) => p.schemas.includes(table.schema) && (p.owns?.(table) ?? true))
    return part?.partitionByName?.(table) ?? []
  })
}

/** The backup's migrations must be the first of this build's, file for file. */
function prefixOf(files: MigrationFile[], header: BackupHeader, file: string): MigrationFile[] {
  const taken = files.slice(0, header.migrations.length)
  const same = header.migrations.length <= files.length && header.migrations.every((m, i) => taken[i]!.when === m.createdAt && taken[i]!.hash === m.hash)
  if (!same) {
    throw transferError(
      'transfer_refused',
      `${file} was taken from a database at migrations this build does not have (${header.migrations.length} in the backup, ${files.length} here, not the same files). Restore it with the version of groundwork that wrote it.`,
    )
  }
  return taken
}

async function migrationsOf(options: LogicalBackupOptions): Promise<MigrationFile[]> {
  return readMigrations(options.migrationsFolder ?? join(findProjectRoot(), 'drizzle'))
}
