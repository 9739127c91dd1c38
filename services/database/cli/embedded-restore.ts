import { openAsBlob } from 'node:fs'
import { rename, rm, stat } from 'node:fs/promises'
import { PGlite } from '@electric-sql/pglite'
import type { Config } from '../../core/config.js'
import { pgliteDataDir, pgliteLockPath } from '../connection.js'
import { checkArchive, type ArchiveCheck } from '../embedded-snapshot.js'
import { acquirePgliteLock } from '../pglite-lock.js'
import { countOurTables, pgliteQuery } from '../table-stats.js'
import { CliError } from './command.js'
import { timestamp } from './embedded-backup.js'

export interface Restored extends ArchiveCheck {
  /** Where the folder that was in use now is. */
  previous: string | null
}

/**
 * Replaces the embedded database's folder with a backup. Under the PGlite lock (so never while the
 * server runs): the archive is checked in memory, loaded into a fresh folder beside the current
 * one, checked there, and only then swapped in; the current folder is kept as
 * pglite.before-restore-<timestamp>. Any failure before the swap leaves the current folder as it was.
 * `file` is a file (db restore checked).
 */
export async function restoreEmbedded(config: Config, file: string): Promise<Restored> {
  const dataDir = pgliteDataDir(config)
  const lock = await acquirePgliteLock(pgliteLockPath(config), dataDir)
  const stamp = timestamp()
  const fresh = `${dataDir}.restoring-${stamp}`
  try {
    const archive = await openAsBlob(file)
    let inMemory: ArchiveCheck
    try {
      inMemory = await checkArchive(archive)
    } catch (error) {
      throw new CliError(`${file} cannot be restored: ${(error as Error).message}. Nothing was changed.`)
    }
    await loadInto(fresh, archive, inMemory)
    const previous = (await stat(dataDir).catch(() => null)) ? `${dataDir}.before-restore-${stamp}` : null
    if (previous) await rename(dataDir, previous)
    try {
      await rename(fresh, dataDir)
    } catch (error) {
      if (previous) await rename(previous, dataDir)
      throw error
    }
    return { ...inMemory, previous }
  } finally {
    await rm(fresh, { recursive: true, force: true })
    await lock.release()
  }
}

async function loadInto(folder: string, archive: Blob, expected: ArchiveCheck): Promise<void> {
  const client = new PGlite(folder, { loadDataDir: archive })
  try {
    await client.waitReady
    const counts = await countOurTables(pgliteQuery(client))
    const differ = counts.filter((count) => expected.counts.find((want) => want.table === count.table)?.rows !== count.rows)
    if (differ.length > 0) throw new CliError(`The restored copy in ${folder} does not hold what the backup does (${differ.map((d) => d.table).join(', ')}). Nothing was changed.`)
  } finally {
    await client.close().catch(() => undefined)
  }
}
