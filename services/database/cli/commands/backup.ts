import { stat } from 'node:fs/promises'
import { loadPlugins } from '../../../plugins/loader.js'
import { pluginParts } from '../../../plugins/transfer-part.js'
import { secretsHeld } from '../../../settings/secrets-held.js'
import { pgliteLockPath } from '../../connection.js'
import { pgliteLockHolder } from '../../pglite-lock.js'
import { drizzleQuery } from '../../table-stats.js'
import { writeLogicalBackup } from '../../transfer/logical-backup.js'
import { PARTS } from '../../transfer/parts.js'
import { CliError, EXIT, type Command, type ExitCode } from '../command.js'
import type { CliContext } from '../context.js'
import { defaultBackupPath, describeBackup, fromPglite, writeVerifiedBackup, type WrittenBackup } from '../embedded-backup.js'
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
  ].join('\n'),
  positionals: [{ name: 'file', required: false, description: 'where to write the backup (embedded: a .tar.gz; PostgreSQL: a .groundwork.gz); must not exist' }],
  async run(context, args) {
    const type = await context.selectedType()
    const file = context.resolvePath(args.positionals[0] ?? defaultBackupPath(context.config, type))
    if (type === 'postgresql') return logicalBackup(context, file)
    const holder = await pgliteLockHolder(pgliteLockPath(context.config))
    if (holder) {
      context.print(`the server, ${holder.who}, holds the embedded database: asking it for the copy`)
      await printBackup(context, await writeVerifiedBackup(file, (temp) => downloadBackup(context.config, temp, holder)))
      return EXIT.ok
    }
    const connection = await context.openSelected()
    try {
      await printBackup(context, await writeVerifiedBackup(file, fromPglite(connection.pglite!)))
    } finally {
      await connection.close()
    }
    return EXIT.ok
  },
}

async function printBackup(context: CliContext, written: WrittenBackup): Promise<void> {
  context.print(describeBackup(written))
  const note = await backupKeyNote(context.config, written.secrets, context.log)
  if (note) context.print(note)
}

async function logicalBackup(context: CliContext, file: string): Promise<ExitCode> {
  if (await stat(file).catch(() => null)) throw new CliError(`${file} already exists: choose another file name, or move it away first.`)
  const connection = await context.openSelected()
  try {
    const written = await writeLogicalBackup(connection.db, file, { migrationsFolder: context.config.migrationsFolder, parts: [...PARTS, ...pluginParts(await loadPlugins(context.config))] })
    context.print(`wrote ${file} (${(written.bytes / 1024 / 1024).toFixed(1)} MB): ${written.rows} rows in ${written.tables} tables, read back and checked`)
    const note = await backupKeyNote(context.config, await secretsHeld(drizzleQuery(connection.db)), context.log)
    if (note) context.print(note)
    return EXIT.ok
  } finally {
    await connection.close()
  }
}
