import { chmod, readdir, rm, stat } from 'node:fs/promises'
import { dirname, join } from 'node:path'
import { ServiceError, driverError, messageOf } from '../core/errors.js'
import { databaseError } from './errors.js'

/** Measured: `du -sh` of a fresh, migrated PGlite folder is 39 MB. */
export const PGLITE_SPACE_MB = 40

/** Errors thrown inside PGlite's WASM are Emscripten ErrnoErrors: no message, no code, Emscripten's own errno numbers. */
const EMSCRIPTEN_ERRNO: Record<number, string> = { 2: 'EACCES', 19: 'EDQUOT', 51: 'ENOSPC', 63: 'EPERM', 69: 'EROFS' }

/** The file-system error code behind an error (ENOSPC, EROFS, …), from Node or from PGlite's WASM; null if it is none. */
export function fileSystemCode(error: unknown): string | null {
  if (typeof error !== 'object' || error === null) return null
  const { code, errno } = error as { code?: unknown; errno?: unknown }
  if (typeof code === 'string' && /^E[A-Z]+$/.test(code)) return code
  // Node's errno is negative; Emscripten's is positive and comes without a code.
  if (typeof errno === 'number' && errno > 0) return EMSCRIPTEN_ERRNO[errno] ?? null
  return null
}

/**
 * Why PERSISTENT_DATA_DIR cannot hold this installation's state, checked once at startup (the
 * server's and the CLI's): a file where the folder, or one above it, should be. Null when it is a
 * folder, or missing with folders above it (it is created when first needed). Reported as it is,
 * every later read of a file under it would fail with ENOTDIR and name that file instead.
 */
export async function persistentDataDirProblem(dataDir: string): Promise<string | null> {
  const fix = 'Set PERSISTENT_DATA_DIR to a folder (it is created if missing), or move that file away, then try again.'
  for (let dir = dataDir; ; dir = dirname(dir)) {
    const found = await stat(dir).catch((error: NodeJS.ErrnoException) => (error.code === 'ENOENT' || error.code === 'ENOTDIR' ? null : error))
    if (found instanceof Error) return null // unreadable: the first write there says why, with its path
    if (found?.isDirectory()) return null
    if (found) {
      return dir === dataDir
        ? `PERSISTENT_DATA_DIR (${dataDir}) is a file, not a folder. ${fix}`
        : `PERSISTENT_DATA_DIR (${dataDir}) cannot be a folder: ${dir}, above it, is a file. ${fix}`
    }
    if (dirname(dir) === dir) return null
  }
}

/**
 * Whether `dir` is a mount point (a volume or disk mounted on the folder itself, e.g. a volume at
 * persistent_data/pglite rather than at persistent_data): its device differs from its parent's. Such
 * a folder cannot be renamed or removed (EBUSY), only its contents can. False when it does not exist.
 */
export async function isMountPoint(dir: string): Promise<boolean> {
  const own = await stat(dir).catch(() => null)
  return own !== null && own.dev !== (await stat(dirname(dir))).dev
}

/**
 * The disk a full-disk message about the embedded database's folder `dataDir` names: a volume
 * mounted on that folder itself when there is one, else undefined (PERSISTENT_DATA_DIR's, the default).
 */
export async function mountedDataDisk(dataDir: string): Promise<string | undefined> {
  return (await isMountPoint(dataDir).catch(() => false)) ? `${dataDir} (a volume mounted on the embedded database's own folder)` : undefined
}

/**
 * The embedded database's folder, for its owner only (0700, as PostgreSQL keeps its data folder):
 * PGlite writes its files 0666 whatever the umask, so with the folder 0755 every user of the
 * machine could read, and change, the data and the encrypted settings. Returns why it could not
 * (a mount point owned by another user, say), for a warning; the database opens anyway.
 */
export async function restrictDataFolder(dir: string): Promise<string | null> {
  try {
    if (((await stat(dir)).mode & 0o777) !== 0o700) await chmod(dir, 0o700)
    return null
  } catch (error) {
    return `Could not make ${dir} readable by its owner only (${fileSystemCode(error) ?? messageOf(error)}): other users of this machine may read and change the embedded database's files. Run: chmod 700 ${dir}`
  }
}

/** What mkfs puts at the top of an ext2/3/4 file system, so in a volume mounted on the folder itself. */
const LOST_AND_FOUND = 'lost+found'

/**
 * Whether the data folder `dir` holds no database and nothing else: missing, empty, or a mount
 * point whose only entry is the file system's lost+found.
 */
export async function isEmptyDataFolder(dir: string): Promise<boolean> {
  let names: string[]
  try {
    names = await readdir(dir)
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code === 'ENOENT') return true
    throw error
  }
  return names.length === 0 || (names.length === 1 && names[0] === LOST_AND_FOUND && (await isMountPoint(dir)))
}

/**
 * Removes the data folder `dir` with everything in it; a mount point, which cannot be removed, is
 * emptied instead, keeping the file system's own lost+found.
 */
export async function removeDataFolder(dir: string): Promise<void> {
  if (!(await isMountPoint(dir))) return rm(dir, { recursive: true, force: true })
  for (const name of await readdir(dir)) if (name !== LOST_AND_FOUND) await rm(join(dir, name), { recursive: true, force: true })
}

/** The causes that mean PERSISTENT_DATA_DIR itself is the problem, not the database in it. */
export function isPersistentDataProblem(error: unknown): boolean {
  return ['ENOSPC', 'EDQUOT', 'EROFS', 'EACCES', 'EPERM'].includes(fileSystemCode(error) ?? '')
}

/**
 * Why a write under PERSISTENT_DATA_DIR failed for want of space ("the disk that holds … is full
 * (ENOSPC)"), or null for any other cause. `where` names the folder when it is not PERSISTENT_DATA_DIR
 * itself (a volume mounted on the embedded database's folder).
 */
export function outOfSpace(dataDir: string, cause: unknown, where = `${dataDir} (PERSISTENT_DATA_DIR)`): string | null {
  const code = fileSystemCode(cause)
  if (code === 'ENOSPC') return `the disk that holds ${where} is full (ENOSPC)`
  if (code === 'EDQUOT') return `${where} is over its disk quota (EDQUOT)`
  return null
}

/** A file under PERSISTENT_DATA_DIR could not be created or written: say which, why, and what to change (`where`: see outOfSpace). */
export function unwritable(dataDir: string, what: string, cause: unknown, where = `${dataDir} (PERSISTENT_DATA_DIR)`): ServiceError {
  const code = fileSystemCode(cause)
  const writable = 'It must be a writable folder for the user running the server'
  const end = 'then try again. Nothing was recorded.'
  const why = outOfSpace(dataDir, cause, where)
  if (why) {
    return databaseError(
      'persistent_data_full',
      `Could not write ${what}: ${why}. The embedded database needs about ${PGLITE_SPACE_MB} MB free there to be created, and more as data grows: free some space or give the volume more, ${end}`,
      { cause },
    )
  }
  if (code === 'EROFS') {
    return databaseError('persistent_data_unwritable', `Could not write ${what}: ${where} is on a read-only file system (EROFS). ${writable}: mount it read-write, ${end}`, { cause })
  }
  if (code === 'EACCES' || code === 'EPERM') {
    return databaseError(
      'persistent_data_unwritable',
      `Could not write ${what}: the ownership or permissions of ${where} do not allow it (${code}). ${writable}: fix its ownership or permissions, ${end}`,
      { cause },
    )
  }
  return databaseError(
    'persistent_data_unwritable',
    `Could not write ${what} (${code ?? messageOf(cause)}). The folder ${where} must be a writable folder for the user running the server: fix its ownership, permissions or free space, ${end}`,
    { cause },
  )
}

/**
 * A write the embedded database refused because the disk under PERSISTENT_DATA_DIR is full (PGlite
 * answers SQLSTATE 53100, "could not extend file … No space left on device"), or undefined for
 * any other error. The database keeps running: the statement changed nothing, and what needs no new room still works.
 */
export function embeddedDiskFull(dataDir: string, wrapped: unknown, where = `${dataDir} (PERSISTENT_DATA_DIR)`): ServiceError | undefined {
  const error = driverError(wrapped)
  if ((error as { code?: unknown } | null)?.code !== '53100') return undefined
  return databaseError(
    'persistent_data_full',
    `The embedded database could not write: the disk that holds ${where} is full (${messageOf(error)}). The statement changed nothing, and queries that need no new room still work. Free some space or give the volume more, then try again.`,
    { cause: error },
  )
}
