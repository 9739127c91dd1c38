import { resolve } from 'node:path'
import { pgliteLockPath } from '../../connection.js'
import { pgliteLockHolder } from '../../pglite-lock.js'
import { CliError, EXIT, type Command } from '../command.js'
import { defaultBackupPath, describeBackup, fromPglite, writeVerifiedBackup } from '../embedded-backup.js'
import { downloadBackup } from '../server-client.js'

export const backup: Command = {
  name: 'backup',
  summary: 'save a consistent, verified copy of the embedded database to one file',
  details: [
    'While the server runs it holds the database: the copy is asked from it (GET /api/db/backup, with',
    'ADMIN_TOKEN or persistent_data/admin.token). When it is stopped, the copy is taken directly.',
    'Every backup is read back in a throwaway database (migrations, row counts) before it is kept.',
    'The default file is persistent_data/backups/pglite-<timestamp>.tar.gz.',
  ].join('\n'),
  positionals: [{ name: 'file', required: false, description: 'where to write the backup (.tar.gz); must not exist' }],
  async run(context, args) {
    const type = await context.selectedType()
    if (type !== 'pglite') {
      throw new CliError('This installation uses PostgreSQL: its backup is a logical dump of our schemas, which this build of "db backup" does not make yet. Use pg_dump meanwhile.')
    }
    const file = resolve(args.positionals[0] ?? defaultBackupPath(context.config, type))
    const holder = await pgliteLockHolder(pgliteLockPath(context.config))
    if (holder) {
      context.print(`the server (${holder.who}) holds the embedded database: asking it for the copy`)
      context.print(describeBackup(await writeVerifiedBackup(file, (temp) => downloadBackup(context.config, temp))))
      return EXIT.ok
    }
    const connection = await context.openSelected()
    try {
      context.print(describeBackup(await writeVerifiedBackup(file, fromPglite(connection.pglite!))))
    } finally {
      await connection.close()
    }
    return EXIT.ok
  },
}
