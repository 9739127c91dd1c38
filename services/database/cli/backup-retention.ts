import { lstat, readdir, rm } from 'node:fs/promises'
import { basename, dirname, join } from 'node:path'
import type { DatabaseType } from '../../core/config.js'
import { messageOf } from '../../core/errors.js'
import { isAlive } from '../pglite-lock.js'
import { CliError, EXIT } from './command.js'
import { defaultBackupName } from './embedded-backup.js'

/** Stands for the timestamp in defaultBackupName(), which builds the names: no name contains it. */
const STAMP = '\u0000'

/** The names `db backup` and `db up` give their backups: `<kind>-<UTC timestamp>.<ext>` (timestamp() in embedded-backup.ts). */
export function backupNamePattern(type: DatabaseType): RegExp {
  const [before, after] = defaultBackupName(type, STAMP).split(STAMP).map((part) => part.replace(/\./g, '\\.'))
  return new RegExp(`^${before}\\d{4}-\\d\\d-\\d\\dT\\d\\d-\\d\\d-\\d\\dZ${after}$`)
}

/** How those names look, for messages: `pglite-<timestamp>.tar.gz`. */
export function backupNameShape(type: DatabaseType): string {
  return defaultBackupName(type, STAMP).replace(STAMP, '<timestamp>')
}

/** `--keep <n>`: a whole number from 1; a usage error otherwise. */
export function parseKeep(value: string): number {
  if (!/^[0-9]+$/.test(value) || Number(value) < 1) {
    throw new CliError(`db backup: --keep must be a whole number from 1 (how many backups to keep, this one included), not "${value}".`, EXIT.usage)
  }
  return Number(value)
}

/**
 * Removes the oldest backups of this kind beside `kept` so that the `keep` newest stay, `kept`
 * among them. Only regular files named as our backups are counted or removed (the timestamp in
 * the name orders them, not the files' times, which copies change); anything else in the folder
 * is left alone. Returns the names removed and how many backups stay.
 */
export async function pruneBackups(kept: string, type: DatabaseType, keep: number): Promise<{ removed: string[]; kept: number }> {
  const folder = dirname(kept)
  const pattern = backupNamePattern(type)
  const named = (await readdir(folder)).filter((name) => pattern.test(name))
  const backups: string[] = []
  for (const name of named) {
    if ((await lstat(join(folder, name)).catch(() => null))?.isFile()) backups.push(name)
  }
  backups.sort().reverse()
  const older = backups.filter((name) => name !== basename(kept)).slice(Math.max(0, keep - 1))
  const removed: string[] = []
  for (const name of older) {
    try {
      await rm(join(folder, name))
      removed.push(name)
    } catch (error) {
      const done = removed.length > 0 ? ` (removed before it: ${removed.join(', ')})` : ''
      throw new CliError(`The backup ${kept} was written and checked, but the older backup ${join(folder, name)} could not be removed: ${messageOf(error)}${done}. Remove it by hand, or fix the folder's permissions.`)
    }
  }
  return { removed, kept: backups.length - removed.length }
}

/**
 * What a backup writes beside its file before it is checked and renamed, with the writer's
 * process id: the embedded archive `<file>.<pid>.tmp` and its check folder
 * `<file>.<pid>.tmp.check-XXXXXX` (embedded-backup.ts, embedded-snapshot.ts), the logical backup
 * `.<file>.<pid>.<8 hex>.tmp` (transfer/logical-backup.ts). Shapes no one else writes.
 */
const LEFTOVER = /^(?:.+\.tar\.gz\.(\d+)\.tmp(?:\.check-[A-Za-z0-9]{6})?|\..+\.groundwork\.gz\.(\d+)\.[0-9a-f]{8}\.tmp)$/
/** Older than this, a leftover of a process that is gone here is abandoned, even in a folder another machine writes to. */
const ABANDONED_AFTER_MS = 6 * 60 * 60 * 1000

/**
 * Removes what backups killed outright (kill -9, out of memory: no handler ran) left in `folder`:
 * files and check folders named as a backup's temporary ones, whose process no longer runs here,
 * untouched for six hours (a backup from another machine into a shared folder is not ours to
 * judge by its process id). Returns the names removed; one that cannot be removed is left.
 */
export async function removeAbandonedTemps(folder: string, now = Date.now()): Promise<string[]> {
  const names = await readdir(folder).catch(() => [] as string[])
  const removed: string[] = []
  for (const name of names) {
    const match = LEFTOVER.exec(name)
    if (!match) continue
    const pid = Number(match[1] ?? match[2])
    if (pid === process.pid || isAlive(pid)) continue
    const info = await lstat(join(folder, name)).catch(() => null)
    if (!info || info.isSymbolicLink() || now - info.mtimeMs < ABANDONED_AFTER_MS) continue
    if (await rm(join(folder, name), { recursive: true, force: true }).then(() => true, () => false)) removed.push(name)
  }
  return removed
}
