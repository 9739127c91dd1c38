import { join } from 'node:path'
import { pgSchema, pgTable, text } from 'drizzle-orm/pg-core'
import { describe, expect, it } from 'vitest'
import { buildTestApp } from '../../test/helpers/app.js'
import { findProjectRoot } from '../core/project-root.js'
import { PluginLoadError } from './errors.js'
import { loadPlugins } from './loader.js'
import { validatePlugin } from './validate.js'

const FIXTURES = join(findProjectRoot(), 'test', 'fixtures', 'plugins')

async function problemsOf(config: { pluginsFolder: string | null; pluginPackages: string[] }): Promise<string[]> {
  const error = await loadPlugins(config).then(
    () => null,
    (e: unknown) => e,
  )
  if (!(error instanceof PluginLoadError)) throw new Error(`expected a PluginLoadError, got ${String(error)}`)
  return error.problems
}

describe('loading plugins', () => {
  it('loads plugins/notes with its migrations, and nothing when there is no plugins folder', async () => {
    const [notes, ...others] = await loadPlugins({ pluginsFolder: join(findProjectRoot(), 'plugins'), pluginPackages: [] })
    expect(others).toEqual([])
    expect(notes).toMatchObject({ where: 'plugins/notes/', definition: { id: 'notes', version: '1.0.0' } })
    expect(notes!.migrations.map((file) => file.tag)).toEqual(['0000_notes'])
    expect(await loadPlugins({ pluginsFolder: join(FIXTURES, 'no-such-folder'), pluginPackages: [] })).toEqual([])
  })

  it('stops with every invalid plugin named and what to fix: bad id, duplicate id, a table outside its schema, a missing migrations folder, no entry file', async () => {
    const problems = await problemsOf({ pluginsFolder: join(FIXTURES, 'invalid'), pluginPackages: [] })
    expect(problems).toEqual([
      expect.stringMatching(/^plugins\/empty_folder\/: has no index\.ts or index\.js/),
      expect.stringMatching(/^plugins\/bad_id\/: id "Bad-Id" must match .* since it names a PostgreSQL schema, a role and job queues$/),
      expect.stringMatching(/^plugin "lost" \(plugins\/lost\/\): The migrations journal .*\/lost\/drizzle\/meta\/_journal\.json is missing .*npm run plugin:generate -- lost/),
      expect.stringMatching(/^plugin "outside" \(plugins\/outside\/\): table "stray" \(export stray\) is outside the plugin's schema; declare it with pgSchema\('plugin_outside'\)\.table\('stray', …\)$/),
      expect.stringMatching(/^plugin "outside" \(plugins\/outside\/\): has tables but no migrationsFolder/),
      'plugin "twin" is defined twice, by plugins/twin/ and plugins/twin_copy/; remove one, or give one another id',
    ])
  })

  it('names a PLUGINS package that is not installed, and how to install it', async () => {
    expect(await problemsOf({ pluginsFolder: null, pluginPackages: ['groundwork-plugin-not-installed'] })).toEqual([
      'package "groundwork-plugin-not-installed" (PLUGINS): is not installed; run "npm install groundwork-plugin-not-installed" or remove it from PLUGINS',
    ])
  })

  it('stops the app from being built, so the server does not start with a broken plugin', async () => {
    await expect(buildTestApp({}, { config: { pluginsFolder: join(FIXTURES, 'invalid') } })).rejects.toThrow(/^Invalid plugins:\n {2}- plugins\/empty_folder\/.*\n {2}- plugins\/bad_id\/.*\nFix or remove these plugins and start again\.$/s)
  })
})

describe('validating a definition', () => {
  const where = { where: 'plugins/x/' }

  it("refuses a table in another plugin's schema", () => {
    const other = pgSchema('plugin_notes').table('notes', { id: text('id') })
    expect(validatePlugin({ id: 'xx', version: '1', tables: { other }, migrationsFolder: '/m' }, where)).toEqual([
      `plugin "xx" (plugins/x/): table "plugin_notes.notes" (export other) is outside the plugin's schema; declare it with pgSchema('plugin_xx').table('notes', …)`,
    ])
  })

  it('refuses ids that cannot name a schema and role safely, a missing version, and bad settings and jobs', () => {
    for (const id of ['a', 'x-y', '1abc', 'Upper', 'a__b', 'a'.repeat(32), 'drop table', undefined]) expect(validatePlugin({ id, version: '1' }, where)).toHaveLength(1)
    expect(validatePlugin({ id: 'ok_id', version: '1' }, where)).toEqual([])
    expect(
      validatePlugin(
        {
          id: 'ok_id',
          version: '',
          tables: { public_one: pgTable('public_one', { id: text('id') }) },
          migrationsFolder: '/m',
          settings: { name: 'S', description: '', settings: [{ name: 'Bad Name', type: 'text' }] },
          jobs: [{ name: 'run', handler: null }, { name: 'run', handler: async () => undefined }, { name: 'dead__end', handler: async () => undefined }],
        },
        where,
      ),
    ).toEqual([
      'plugin "ok_id" (plugins/x/): needs a version, e.g. "1.0.0"',
      expect.stringContaining('table "public_one" (export public_one) is outside the plugin\'s schema'),
      'plugin "ok_id" (plugins/x/): setting name "Bad Name" must be lower_snake_case',
      'plugin "ok_id" (plugins/x/): setting "Bad Name" has type "text"; expected one of string, number, boolean, json',
      'plugin "ok_id" (plugins/x/): job "run" needs a handler function',
      'plugin "ok_id" (plugins/x/): job "run" is declared twice',
      'plugin "ok_id" (plugins/x/): job name "dead__end" must be lower_snake_case, without "__"',
    ])
  })
})
