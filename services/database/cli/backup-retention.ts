import { lstat, readdir, rm } from 'node:fs/promises'
import { basename, dirname, join } from 'node:path'
import type { DatabaseType } from '../../core/config.js'
import { messageOf } from '../../core/errors.js'
import { CliError, EXIT } from './command.js'

/** The names `db backup` and `db up` give their backups: `<kind>-<UTC timestamp>.<ext>` (timestamp() in embedded-backup.ts). */
export function backupNamePattern(type: DatabaseType): RegExp {
  return new RegExp(`^${type}-\\d{4}-\\d\\d-\\d\\dT\\d\\d-\\d\\d-\\d\\dZ\\.${type === 'pglite' ? 'tar\\.gz' : 'groundwork\\.gz'}$`)
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
