import { createInterface } from 'node:readline/promises'
import { PLUGIN_ID, PLUGIN_ID_RULE, pluginSchemaName } from '../../../plugins/definition.js'
import { dropPlugin } from '../../../plugins/drop.js'
import { loadPlugins } from '../../../plugins/loader.js'
import { CliError, EXIT, type Command } from '../command.js'

export const plugin: Command = {
  name: 'plugin',
  summary: "drop <id>: delete a removed plugin's schema, data and role, for good (after a confirmation)",
  details: [
    "A plugin whose folder (or PLUGINS entry) is gone leaves its schema plugin_<id> and its data in place;",
    'GET /api/db/status lists it as orphaned. This removes them in one transaction. It refuses while the',
    'plugin is installed. It asks for the id again; --confirm <id> answers without a prompt (scripts).',
    'With the embedded database, stop the server first: it holds the data folder.',
    'Example: npm run db -- plugin drop notes --confirm notes',
  ].join('\n'),
  positionals: [
    { name: 'action', required: true, description: 'drop (the only action)' },
    { name: 'id', required: true, description: 'the plugin id, as in plugin_<id>' },
  ],
  options: { confirm: { type: 'string', valueName: 'id', description: 'the plugin id again, to confirm without a prompt' } },
  async run(context, args) {
    const [action, id] = args.positionals as [string, string]
    if (action !== 'drop') throw new CliError(`db plugin: unknown action "${action}"; the only one is "drop": npm run db -- plugin drop <id>`, EXIT.usage)
    if (!PLUGIN_ID.test(id)) throw new CliError(`db plugin: "${id}" is not a plugin id: an id is ${PLUGIN_ID_RULE}, as in the schema plugin_<id> that GET /api/db/status lists as orphaned.`, EXIT.usage)
    const installed = (await loadPlugins(context.config)).map((loaded) => loaded.definition.id)
    if (installed.includes(id)) {
      throw new CliError(`Plugin "${id}" is installed: remove its folder plugins/${id}/ (or its package from PLUGINS) and restart the server first, or its next start would recreate what this removes. Nothing was changed.`)
    }
    let confirm = args.values.confirm as string | undefined
    if (confirm === undefined) {
      if (!process.stdin.isTTY) {
        throw new CliError(`Dropping plugin "${id}" deletes schema ${pluginSchemaName(id)} with all its data, for good. Repeat the id to confirm: npm run db -- plugin drop ${id} --confirm ${id}`, EXIT.usage)
      }
      const prompt = createInterface({ input: process.stdin, output: process.stdout })
      try {
        confirm = (await prompt.question(`This deletes schema ${pluginSchemaName(id)} with all its data, and its role, for good. Type "${id}" to confirm: `)).trim()
      } finally {
        prompt.close()
      }
    }
    const connection = await context.openSelected()
    try {
      const result = await dropPlugin(connection.db, id, { confirm, installed })
      context.print(`dropped plugin ${id}: schema ${pluginSchemaName(id)} with ${result.tables.length === 0 ? 'no tables' : `its tables ${result.tables.join(', ')}`}${result.roleDropped ? ', and its role' : ''}`)
      if (result.roleKept) context.print(`warning: ${result.roleKept}`)
      return EXIT.ok
    } finally {
      await connection.close()
    }
  },
}
