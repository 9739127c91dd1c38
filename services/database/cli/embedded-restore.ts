import { mkdir, readdir, rename, rm, stat } from 'node:fs/promises'
import { basename, dirname, join } from 'node:path'
import type { Config } from '../../core/config.js'
import { messageOf } from '../../core/errors.js'
import { removeIfInterrupted } from '../../core/interrupt-cleanup.js'
import { pgliteDataDir, pgliteLockPath } from '../connection.js'
import { unpackArchive } from '../embedded-archive.js'
import { readMigrations } from '../migrator.js'
import { isMountPoint } from '../persistent-data.js'
import { checkUnpacked, type ArchiveCheck } from '../embedded-snapshot.js'
import { acquirePgliteLock } from '../pglite-lock.js'
import { CliError } from './command.js'
import { timestamp } from './embedded-backup.js'

export interface Restored extends ArchiveCheck {
  /** Where the folder that was in use now is. */
  previous: string | null
  /** Folders of earlier restores that were interrupted while unpacking, removed first. */
  leftovers: string[]
}

/**
 * Replaces the embedded database's folder with a backup. Under the PGlite lock (so never while the
 * server runs): the archive is unpacked into a fresh folder beside the current one (as a stream:
 * memory holds none of it), read there (migrations journal, our tables), and only then swapped in;
 * the current folder is kept as pglite.before-restore-<timestamp>. Any failure before the swap
 * leaves the current folder as it was. `file` is a file (db restore checked).
 */
export async function restoreEmbedded(config: Config, file: string): Promise<Restored> {
  const dataDir = pgliteDataDir(config)
  // A restore onto a new machine may come before anything created PERSISTENT_DATA_DIR.
  await mkdir(dirname(dataDir), { recursive: true })
  if (await isMountPoint(dataDir)) {
    // Checked first: the swap below would fail (EBUSY) only after the whole archive was unpacked and read.
    throw new CliError(
      `${dataDir} is a mount point (a volume or disk mounted on that folder itself), and a restore swaps in a new folder in its place, keeping the one in use beside it: a mount point cannot be moved. ` +
        `Mount the volume on ${dirname(dataDir)} (PERSISTENT_DATA_DIR) instead; or restore into another folder and copy it in with the server stopped: ` +
        `DB_TYPE=pglite PERSISTENT_DATA_DIR=<other folder> npm run db -- restore ${file}, then move the contents of ${dataDir} somewhere safe and "cp -a <other folder>/pglite/. ${dataDir}/". Nothing was changed.`,
    )
  }
  const lock = await acquirePgliteLock(pgliteLockPath(config), dataDir)
  const stamp = timestamp()
  const fresh = `${dataDir}.restoring-${stamp}`
  const forget = removeIfInterrupted(fresh)
  try {
    const leftovers = await removeInterruptedRestores(dataDir)
    let check: ArchiveCheck
    try {
      // Owner-only from the start, as the server keeps the folder in use (restrictDataFolder): the files unpack 0666.
      await mkdir(fresh, { mode: 0o700 })
      await unpackArchive(file, fresh)
      check = await checkUnpacked(fresh)
      await refuseNewerBuild(check, config)
    } catch (error) {
      const unchanged = leftovers.length > 0 ? `The database was not changed (removed first: ${leftovers.join(', ')}, left by a restore that was interrupted).` : 'Nothing was changed.'
      throw new CliError(`${file} cannot be restored: ${(error as Error).message}. ${unchanged}`)
    }
    // From here `fresh` becomes the database: an interrupt during the two renames kills the process as
    // before (both folders stay, named as they are), never removes it.
    forget()
    const previous = (await stat(dataDir).catch(() => null)) ? `${dataDir}.before-restore-${stamp}` : null
    if (previous) {
      try {
        await rename(dataDir, previous)
      } catch (error) {
        throw new CliError(`${file} was unpacked and checked, but ${dataDir} could not be moved aside to ${previous} (${messageOf(error)}): nothing was changed. Check that the user running this command may rename entries of ${dirname(dataDir)}, then run the restore again.`)
      }
    }
    try {
      await rename(fresh, dataDir)
    } catch (error) {
      const why = `${file} was unpacked and checked, but could not be moved into place as ${dataDir} (${messageOf(error)})`
      if (!previous) throw new CliError(`${why}: nothing was changed. Run the restore again once that is fixed.`)
      try {
        await rename(previous, dataDir)
      } catch (back) {
        throw new CliError(`${why}, and the folder that was in use could not be moved back either (${messageOf(back)}): it is intact at ${previous}. Move it back by hand before starting the server: mv "${previous}" "${dataDir}"`)
      }
      throw new CliError(`${why}: the folder in use was moved back, nothing was changed. Run the restore again once that is fixed.`)
    }
    return { ...check, previous, leftovers }
  } finally {
    forget()
    await rm(fresh, { recursive: true, force: true })
    await lock.release()
  }
}

/** A database migrated by a newer build than this one: restored, this build's server would run on a schema it does not know. */
async function refuseNewerBuild(check: ArchiveCheck, config: Config): Promise<void> {
  const known = new Set((await readMigrations(config.migrationsFolder)).map((file) => file.when))
  const unknown = check.appliedAt.filter((when) => !known.has(when)).length
  if (unknown > 0) {
    throw new Error(
      `it was taken from a database migrated by a newer version of groundwork (${unknown} migration${unknown === 1 ? '' : 's'} this build does not have, ${check.migrations} in the backup, ${known.size} here): restore it with that version, or a newer one`,
    )
  }
}

/**
 * A restore killed while it unpacked leaves its folder (as large as the database). Under the lock
 * no other restore runs, so every such folder is a leftover.
 */
async function removeInterruptedRestores(dataDir: string): Promise<string[]> {
  const prefix = `${basename(dataDir)}.restoring-`
  const names = (await readdir(dirname(dataDir))).filter((name) => name.startsWith(prefix))
  for (const name of names) await rm(join(dirname(dataDir), name), { recursive: true, force: true })
  return names.map((name) => join(dirname(dataDir), name))
}
