import { mkdir, stat } from 'node:fs/promises'
import { basename, dirname, join } from 'node:path'
import type { DatabaseType } from '../../../core/config.js'
import { loadPlugins } from '../../../plugins/loader.js'
import { pluginParts } from '../../../plugins/transfer-part.js'
import { secretsHeld } from '../../../settings/secrets-held.js'
import { pgliteLockPath } from '../../connection.js'
import { pgliteLockHolder } from '../../pglite-lock.js'
import { drizzleQuery } from '../../table-stats.js'
import { writeLogicalBackup } from '../../transfer/logical-backup.js'
import { PARTS } from '../../transfer/parts.js'
import { backupNamePattern, backupNameShape, parseKeep, pruneBackups, removeAbandonedTemps } from '../backup-retention.js'
import { CliError, EXIT, type Command } from '../command.js'
import type { CliContext } from '../context.js'
import { defaultBackupName, defaultBackupPath, describeBackup, fromPglite, writeVerifiedBackup, type WrittenBackup } from '../embedded-backup.js'
import { backupKeyNote } from '../key-notes.js'
import { downloadBackup } from '../server-client.js'

export const backup: Command = {
  name: 'backup',
  summary: 'save a consistent, verified copy of the selected database to one file',
  details: [
    'While the server runs it holds the database: the copy is asked from it (GET /api/db/backup, with',
    'ADMIN_TOKEN or persistent_data/admin.token). When it is stopped, the copy is taken directly.',
    'Every backup is read back in a throwaway database (migrations, row counts) before it is kept,',
    'unpacked beside the file: that disk needs room for a copy of the database folder meanwhile.',
    'The default file is persistent_data/backups/pglite-<timestamp>.tar.gz.',
    '',
    'PostgreSQL: a logical copy of every schema groundwork owns (our tables, the job queue), read in',
    'one snapshot while the server runs, read back in full before it is kept; "db restore" loads it into',
    'an empty database of either kind. Default file: persistent_data/backups/postgresql-<timestamp>.groundwork.gz.',
    '',
    'What a backup killed outright (kill -9, out of memory) left in the folder is removed by the next one',
    'there, once its process is gone and the leftover is six hours old.',
    '',
    'Given a folder, the backup gets the default name in it. --keep <n> then removes the oldest backups',
    'of this kind in that folder (named as above, "db up"\'s included) once this one is checked, so that',
    'the n newest stay; other files there are left alone. Nightly, keeping two weeks:',
    '  npm run db -- backup /mnt/backups/groundwork --keep 14',
  ].join('\n'),
  positionals: [{ name: 'file', required: false, description: 'where to write the backup (embedded: a .tar.gz; PostgreSQL: a .groundwork.gz); must not exist; or a folder to write it into' }],
  options: { keep: { type: 'string', valueName: 'n', description: 'then keep only the n newest backups of this kind in its folder, this one included' } },
  async run(context, args) {
    const keep = args.values.keep === undefined ? null : parseKeep(args.values.keep as string)
    const type = await context.selectedType()
    const file = await backupFile(context, type, args.positionals[0], keep)
    const abandoned = await removeAbandonedTemps(dirname(file))
    if (abandoned.length > 0) context.print(`removed what backups killed before they finished left in ${dirname(file)}: ${abandoned.join(', ')}`)
    if (type === 'postgresql') await logicalBackup(context, file)
    else await embeddedBackup(context, file)
    if (keep !== null) {
      const { removed, kept } = await pruneBackups(file, type, keep)
      const backups = `${kept} backup${kept === 1 ? '' : 's'} of this kind`
      context.print(removed.length === 0 ? `--keep ${keep}: ${backups} in ${dirname(file)}, none removed` : `--keep ${keep}: removed the ${removed.length === 1 ? 'oldest' : `${removed.length} oldest`} from ${dirname(file)} (${removed.join(', ')}); ${backups} kept`)
    }
    return EXIT.ok
  },
}

/**
 * The file to write: the one given, or the default name in the folder given (or in
 * persistent_data/backups/). A path ending with a slash is a folder, made if missing.
 */
async function backupFile(context: CliContext, type: DatabaseType, given: string | undefined, keep: number | null): Promise<string> {
  if (given === undefined) return defaultBackupPath(context.config, type)
  const path = context.resolvePath(given)
  if (/[\\/]$/.test(given) || (await stat(path).catch(() => null))?.isDirectory()) return join(path, defaultBackupName(type))
  if (keep !== null && !backupNamePattern(type).test(basename(path))) {
    throw new CliError(`db backup: --keep counts the backups named ${backupNameShape(type)} in a folder, and ${basename(path)} is not named that way: give its folder instead (${dirname(path)}), and the backup gets such a name there.`, EXIT.usage)
  }
  return path
}

async function embeddedBackup(context: CliContext, file: string): Promise<void> {
  const holder = await pgliteLockHolder(pgliteLockPath(context.config))
  if (holder) {
    context.print(`the server, ${holder.who}, holds the embedded database: asking it for the copy`)
    await printBackup(context, await writeVerifiedBackup(file, (temp) => downloadBackup(context.config, temp, holder)))
    return
  }
  const connection = await context.openSelected()
  try {
    await printBackup(context, await writeVerifiedBackup(file, fromPglite(connection.pglite!)))
  } finally {
    await connection.close()
  }
}

async function printBackup(context: CliContext, written: WrittenBackup): Promise<void> {
  context.print(describeBackup(written))
  const note = await backupKeyNote(context.config, written.secrets, context.log)
  if (note) context.print(note)
}

async function logicalBackup(context: CliContext, file: string): Promise<void> {
  if (await stat(file).catch(() => null)) throw new CliError(`${file} already exists: choose another file name, or move it away first.`)
  // As the embedded backup does (writeVerifiedBackup): persistent_data/backups/ is made by the first backup.
  await mkdir(dirname(file), { recursive: true })
  const connection = await context.openSelected()
  try {
    const written = await writeLogicalBackup(connection.db, file, { migrationsFolder: context.config.migrationsFolder, parts: [...PARTS, ...pluginParts(await loadPlugins(context.config))] })
    context.print(`wrote ${file} (${(written.bytes / 1024 / 1024).toFixed(1)} MB): ${written.rows} row${written.rows === 1 ? '' : 's'} in ${written.tables} tables, read back and checked`)
    const note = await backupKeyNote(context.config, await secretsHeld(drizzleQuery(connection.db)), context.log)
    if (note) context.print(note)
  } finally {
    await connection.close()
  }
}
