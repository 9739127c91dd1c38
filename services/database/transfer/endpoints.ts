import { copyFile, mkdir, readdir, rename, rm } from 'node:fs/promises'
import { basename, dirname, join } from 'node:path'
import type { Config } from '../../core/config.js'
import { removeIfInterrupted } from '../../core/interrupt-cleanup.js'
import { describeConnectionError } from '../connection-errors.js'
import { databaseError } from '../errors.js'
import { isEmptyDataFolder, isMountPoint, restrictDataFolder } from '../persistent-data.js'
import { acquirePgliteLock, type PgliteLock } from '../pglite-lock.js'
import { describeTarget, resolvePostgresSettings } from '../postgres-settings.js'
import { SELECTION_FILE, SELECTION_VERSION, readSelection, selectionPath, writeSelection } from '../selection-file.js'
import type { DatabaseType } from '../../core/config.js'
import { transferError } from './errors.js'
import { pgliteSession, postgresSession, type Session } from './sessions.js'

/** The lock the server takes for a data folder: `<folder>.lock` beside it (persistent_data/pglite.lock). */
export function lockPathOf(dataDir: string): string {
  return join(dirname(dataDir), `${basename(dataDir)}.lock`)
}

/** An existing PGlite folder, under the server's lock: fails with database_locked while the server holds it. */
export async function openPgliteSource(dataDir: string): Promise<Session> {
  if (await isEmptyDataFolder(dataDir)) {
    throw transferError('transfer_refused', `There is no embedded database in ${dataDir} to copy. Check PERSISTENT_DATA_DIR.`)
  }
  const lock = await acquirePgliteLock(lockPathOf(dataDir), dataDir)
  return withLock(lock, () => pgliteSession(dataDir))
}

/** The PostgreSQL server that DATABASE_URL or POSTGRES_* name, on one connection of its own. */
export async function openPostgres(config: Config): Promise<Session> {
  const settings = resolvePostgresSettings(config.postgres, { max: 1 })
  if (settings.missing.length > 0) {
    throw databaseError('missing_settings', `The PostgreSQL database is not configured: ${settings.missing.join(', ')} not set. Set DATABASE_URL or POSTGRES_HOST, POSTGRES_DATABASE and POSTGRES_USER (and POSTGRES_PASSWORD) in the environment, then run the command again.`)
  }
  try {
    return await postgresSession({ ...settings.pool, application_name: 'groundwork-transfer' }, describeTarget(settings.target))
  } catch (error) {
    throw describeConnectionError(error, settings.target)
  }
}

/**
 * A fresh PGlite folder built beside `dataDir` and moved into place by `finish()` only: a
 * transfer interrupted at any point leaves `dataDir` as it was (missing or empty).
 */
export async function openFreshPglite(dataDir: string): Promise<{ session: Session; finish(): Promise<void>; discard(): Promise<void> }> {
  if (!(await isEmptyDataFolder(dataDir))) {
    throw transferError('transfer_refused', `${dataDir} is not empty: a copy goes only into a new embedded database. Move that folder away, or give another one with --data-dir.`)
  }
  if (await isMountPoint(dataDir)) {
    // Here, not at finish(): moving the copy into place would fail (EBUSY) only after the whole transfer.
    throw transferError(
      'transfer_refused',
      `${dataDir} is a mount point (a volume or disk mounted on that folder itself): the copy is built beside it and moved into its place, which a mount point does not allow. ` +
        `Mount the volume on ${dirname(dataDir)} instead; or build the copy with --data-dir <other folder>, then, with the server stopped, "cp -a <other folder>/. ${dataDir}/" and select the embedded database (DB_TYPE=pglite). Nothing was changed.`,
    )
  }
  await mkdir(dirname(dataDir), { recursive: true })
  const lock = await acquirePgliteLock(lockPathOf(dataDir), dataDir)
  const prefix = `.${basename(dataDir)}.transfer-`
  const building = join(dirname(dataDir), `${prefix}${process.pid}`)
  // Under the lock no other transfer builds here: any such folder is what a killed one left.
  for (const name of await readdir(dirname(dataDir))) if (name.startsWith(prefix)) await rm(join(dirname(dataDir), name), { recursive: true, force: true })
  const forget = removeIfInterrupted(building)
  let session: Session
  try {
    session = await withLock(lock, () => ownerOnlySession(building), () => rm(building, { recursive: true, force: true }))
  } catch (error) {
    forget()
    throw error
  }
  const close = session.close
  return {
    session: { ...session, close: async () => undefined },
    async finish() {
      await close()
      forget()
      await rm(dataDir, { recursive: true, force: true })
      await rename(building, dataDir)
      await lock.release()
    },
    async discard() {
      forget()
      await close().catch(() => undefined)
      await rm(building, { recursive: true, force: true })
      await lock.release()
    },
  }
}

/** Owner-only before any data is copied in, as the server keeps the folder in use (PGlite writes its files 0666). */
async function ownerOnlySession(dataDir: string): Promise<Session> {
  const session = await pgliteSession(dataDir)
  const restricted = await restrictDataFolder(dataDir)
  if (restricted) {
    await session.close()
    throw transferError('transfer_refused', `${restricted}. Nothing was copied.`)
  }
  return session
}

async function withLock(lock: PgliteLock, open: () => Promise<Session>, cleanup?: () => Promise<unknown>): Promise<Session> {
  let session: Session
  try {
    session = await open()
  } catch (error) {
    await cleanup?.()
    await lock.release()
    throw error
  }
  return {
    ...session,
    async close() {
      try {
        await session.close()
      } finally {
        await lock.release()
      }
    },
  }
}

/** Makes the next start use `type`, keeping the previous selection as db.selection.json.bak. */
export async function switchSelection(persistentDataDir: string, type: DatabaseType): Promise<{ backup: string | null }> {
  const current = await readSelection(persistentDataDir)
  let backup: string | null = null
  if (current.kind !== 'absent') {
    backup = `${selectionPath(persistentDataDir)}.bak`
    const temp = join(persistentDataDir, `.${SELECTION_FILE}.bak.${process.pid}.tmp`)
    await copyFile(current.path, temp)
    await rename(temp, backup)
  }
  await writeSelection(persistentDataDir, { type, selectedAt: new Date().toISOString(), version: SELECTION_VERSION })
  return { backup }
}
