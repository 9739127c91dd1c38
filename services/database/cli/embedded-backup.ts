import { mkdir, rename, rm, stat } from 'node:fs/promises'
import { dirname, join } from 'node:path'
import type { PGlite } from '@electric-sql/pglite'
import type { Config, DatabaseType } from '../../core/config.js'
import { removeIfInterrupted } from '../../core/interrupt-cleanup.js'
import { checkArchive, snapshotPglite, type ArchiveCheck } from '../embedded-snapshot.js'
import type { TableCount } from '../table-stats.js'
import { CliError } from './command.js'

export function timestamp(date = new Date()): string {
  return date.toISOString().replace(/\.\d+Z$/, 'Z').replace(/:/g, '-')
}

export function defaultBackupPath(config: Config, type: DatabaseType): string {
  return join(config.persistentDataDir, 'backups', defaultBackupName(type))
}

/** `<kind>-<timestamp>.<ext>`, as backupNamePattern() in backup-retention.ts recognises it. */
export function defaultBackupName(type: DatabaseType, stamp = timestamp()): string {
  // PGlite's backup is its data folder (tar.gz); PostgreSQL's is our logical format (gzipped COPY frames).
  return `${type}-${stamp}.${type === 'pglite' ? 'tar.gz' : 'groundwork.gz'}`
}

export interface WrittenBackup extends ArchiveCheck {
  file: string
  bytes: number
}

/**
 * Writes a backup through `produce` (which writes the temp file it is given and returns the row
 * counts of that copy), checks it unpacked beside it in a throwaway PGlite, and only then renames it into
 * place: a backup that exists under its name has been read back.
 */
export async function writeVerifiedBackup(file: string, produce: (temp: string) => Promise<TableCount[]>): Promise<WrittenBackup> {
  await mkdir(dirname(file), { recursive: true })
  if (await stat(file).catch(() => null)) throw new CliError(`${file} already exists: choose another file name, or move it away first.`)
  const temp = backupTempPath(file)
  const forget = removeIfInterrupted(temp)
  try {
    const counts = await produce(temp)
    let check: ArchiveCheck
    try {
      check = await checkArchive(temp, counts)
    } catch (error) {
      throw new CliError(`The backup was written but failed its check: ${(error as Error).message}. It was not kept; nothing else changed.`)
    }
    const { size } = await stat(temp)
    await rename(temp, file)
    return { ...check, file, bytes: size }
  } finally {
    await rm(temp, { force: true })
    forget()
  }
}

/** Where a backup is written before its check: with the writer's pid, which removeAbandonedTemps() reads back. */
export function backupTempPath(file: string, pid = process.pid): string {
  return `${file}.${pid}.tmp`
}

/** The producer for a PGlite this process holds. */
export function fromPglite(client: PGlite): (temp: string) => Promise<TableCount[]> {
  return async (temp) => (await snapshotPglite(client, temp)).counts
}

export function describeBackup(backup: WrittenBackup): string {
  const rows = backup.counts.reduce((sum, count) => sum + (count.rows ?? 0), 0)
  return `backup written to ${backup.file} (${(backup.bytes / 1024 / 1024).toFixed(1)} MB; checked: ${backup.migrations} migrations, ${rows} rows in ${backup.counts.length} tables)`
}
