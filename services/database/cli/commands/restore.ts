import { resolve } from 'node:path'
import { pgliteLockPath } from '../../connection.js'
import { pgliteLockHolder } from '../../pglite-lock.js'
import { CliError, EXIT, type Command } from '../command.js'
import { restoreEmbedded } from '../embedded-restore.js'

export const restore: Command = {
  name: 'restore',
  summary: 'replace the embedded database with a backup (server stopped; the current folder is kept)',
  details: [
    'The backup is checked, loaded into a fresh folder, checked again, then swapped in. The folder',
    'in use is kept as persistent_data/pglite.before-restore-<timestamp>; any failure leaves it in place.',
  ].join('\n'),
  positionals: [{ name: 'file', required: true, description: 'a backup made by "npm run db -- backup"' }],
  async run(context, args) {
    const type = await context.selectedType()
    if (type !== 'pglite') {
      throw new CliError('This installation uses PostgreSQL: restoring it means loading a logical dump into an empty database, which this build of "db restore" does not do yet.')
    }
    const holder = await pgliteLockHolder(pgliteLockPath(context.config))
    if (holder) throw new CliError(`The embedded database is in use by ${holder.who}: stop the server first, then run the restore again. Nothing was changed.`)
    const file = resolve(args.positionals[0]!)
    const restored = await restoreEmbedded(context.config, file)
    const rows = restored.counts.reduce((sum, count) => sum + (count.rows ?? 0), 0)
    context.print(`restored ${file}: ${restored.migrations} migrations, ${rows} rows in ${restored.counts.length} tables`)
    if (restored.previous) context.print(`the folder in use before is kept as ${restored.previous}; delete it once the restored database works`)
    context.print('start the server: it applies any newer migrations at startup')
    return EXIT.ok
  },
}
