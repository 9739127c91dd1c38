import { fileURLToPath } from 'node:url'
import { definePlugin } from '../../services/plugins/definition.js'
import { pruneOldNotes } from './prune.js'
import routes from './routes.js'
import * as tables from './schema.js'
import { settings } from './settings.js'

/** An example plugin: notes in a table of its own, a setting, routes under /api/plugins/notes/ and a job. */
export default definePlugin({
  id: 'notes',
  version: '1.0.0',
  tables,
  migrationsFolder: fileURLToPath(new URL('./drizzle', import.meta.url)),
  settings,
  routes,
  jobs: [
    {
      name: 'prune_old_notes',
      handler: (_job, context) => pruneOldNotes(context).then(() => undefined),
      options: { schedule: { cron: '17 3 * * *' }, retryLimit: 3, retryDelay: 60 },
    },
  ],
})
