import { spawnSync } from 'node:child_process'
import { existsSync } from 'node:fs'
import { join, relative } from 'node:path'
import { findProjectRoot } from '../core/project-root.js'
import { PLUGIN_ID, PLUGIN_ID_RULE } from './definition.js'

// npm run plugin:generate -- <id> [drizzle-kit options]: drizzle-kit generate with the plugin's own config.
const [id, ...rest] = process.argv.slice(2)
const root = findProjectRoot()
if (!id || !PLUGIN_ID.test(id)) {
  process.stderr.write(`Usage: npm run plugin:generate -- <plugin id> [--name <migration name>]\nThe id must be ${PLUGIN_ID_RULE}.\n`)
  process.exit(2)
}
const config = join(root, 'plugins', id, 'drizzle.config.ts')
if (!existsSync(config)) {
  process.stderr.write(
    `${relative(root, config)} does not exist. Copy plugins/notes/drizzle.config.ts, set schema and out to the plugin's folder, schemaFilter to ["plugin_${id}"] and migrations to { schema: "plugin_${id}", table: "__drizzle_migrations" }.\n`,
  )
  process.exit(2)
}
const result = spawnSync('npx', ['drizzle-kit', 'generate', '--config', config, ...rest], { cwd: root, stdio: 'inherit' })
process.exit(result.status ?? 1)
