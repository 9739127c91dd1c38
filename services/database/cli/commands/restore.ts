import { stat } from 'node:fs/promises'
import { messageOf } from '../../../core/errors.js'
import { loadPlugins } from '../../../plugins/loader.js'
import { pluginParts } from '../../../plugins/transfer-part.js'
import { secretsHeld } from '../../../settings/secrets-held.js'
import { readChoice } from '../../choice.js'
import { pgliteLockPath } from '../../connection.js'
import { pgliteLockHolder } from '../../pglite-lock.js'
import { selectionPath, SELECTION_VERSION, writeSelection } from '../../selection-file.js'
import { drizzleQuery } from '../../table-stats.js'
import { isLogicalBackup } from '../../transfer/backup-file.js'
import { restoreLogicalBackup } from '../../transfer/logical-backup.js'
import { PARTS } from '../../transfer/parts.js'
import { CliError, EXIT, type Command } from '../command.js'
import type { CliContext } from '../context.js'
import { restoreEmbedded } from '../embedded-restore.js'
import { restoreKeyNote } from '../key-notes.js'

export const restore: Command = {
  name: 'restore',
  summary: 'load a backup: replace the embedded database (the current folder is kept), or fill an empty PostgreSQL one',
  details: [
    'Embedded: server stopped. The backup is unpacked into a fresh folder beside the current one (the',
    'disk needs room for it), read there, then swapped in. The folder in use is kept as',
    'persistent_data/pglite.before-restore-<timestamp>; any failure leaves it in place.',
    '',
    'PostgreSQL: a logical backup (made by "db backup" on PostgreSQL) is loaded into the selected',
    'database, which must hold none of our rows: migrations, rows and sequences in one transaction,',
    'checked against the checksums in the file before it commits. Any failure leaves it as it was.',
  ].join('\n'),
  positionals: [{ name: 'file', required: true, description: 'a backup made by "npm run db -- backup"' }],
  async run(context, args) {
    const file = context.resolvePath(args.positionals[0]!)
    if (!(await stat(file).catch(() => null))?.isFile()) throw new CliError(`${file} is not a file: give the path of a backup made by "npm run db -- backup". Nothing was changed.`)
    const logical = await isLogicalBackup(file)
    // An embedded backup restores into the embedded database only: on an installation that has
    // chosen nothing yet (a new machine), restoring one is choosing it.
    const newInstallation = !logical && (await readChoice(context.config)).kind === 'none'
    const type = newInstallation ? 'pglite' : await context.selectedType()
    // A logical backup (from PostgreSQL, or of the embedded database) loads into either kind.
    if (type === 'postgresql' || logical) {
      if (type === 'pglite') await refuseWhileHeld(context)
      let keyNote: string | null
      const connection = await context.openSelected({ create: true })
      try {
        const restored = await restoreLogicalBackup(file, connection.db, { migrationsFolder: context.config.migrationsFolder, parts: [...PARTS, ...pluginParts(await loadPlugins(context.config))] })
        context.print(`restored ${file} into ${connection.description}: ${restored.rows} rows in ${restored.tables} tables, checked`)
        keyNote = await restoreKeyNote(context.config, await secretsHeld(drizzleQuery(connection.db)), context.log)
      } finally {
        await connection.close()
      }
      if (keyNote) context.print(keyNote)
      context.print('start the server: it applies any newer migrations at startup')
      return EXIT.ok
    }
    await refuseWhileHeld(context)
    const restored = await restoreEmbedded(context.config, file)
    for (const folder of restored.leftovers) context.print(`removed ${folder}, left by a restore that was interrupted`)
    const rows = restored.counts.reduce((sum, count) => sum + (count.rows ?? 0), 0)
    context.print(`restored ${file}: ${restored.migrations} migrations, ${rows} rows in ${restored.counts.length} tables`)
    if (restored.previous) context.print(`the folder in use before is kept as ${restored.previous}; delete it once the restored database works`)
    if (newInstallation) await selectEmbedded(context)
    const keyNote = await restoreKeyNote(context.config, restored.secrets, context.log)
    if (keyNote) context.print(keyNote)
    context.print('start the server: it applies any newer migrations at startup')
    return EXIT.ok
  },
}

/** Records the choice the wizard would: the restored embedded database is this installation's from now on. */
async function selectEmbedded(context: CliContext): Promise<void> {
  const { persistentDataDir } = context.config
  try {
    await writeSelection(persistentDataDir, { type: 'pglite', selectedAt: new Date().toISOString(), version: SELECTION_VERSION })
  } catch (error) {
    throw new CliError(
      `The backup was restored, but this installation had no database chosen and ${selectionPath(persistentDataDir)} could not be written (${messageOf(error)}): start the server with DB_TYPE=pglite, or open /setup and choose Embedded (it takes the restored folder as it is).`,
    )
  }
  context.print(`this installation had no database chosen: the embedded database is now chosen (${selectionPath(persistentDataDir)}), as the setup wizard would`)
}

async function refuseWhileHeld(context: CliContext): Promise<void> {
  const holder = await pgliteLockHolder(pgliteLockPath(context.config))
  if (holder) throw new CliError(`The embedded database is in use by ${holder.who}: stop the server first, then run the restore again. Nothing was changed.`)
}
