import { join } from 'node:path'
import { findProjectRoot } from '../../services/core/project-root.js'

const ROOT = findProjectRoot()

/**
 * Plugin folders for tests (config.pluginsFolder); test/fixtures/plugins/ holds the fixtures.
 * Roles belong to the whole PostgreSQL server and test files run in parallel: a test that drops
 * a plugin's role uses a plugin id no other test file loads.
 */
export const PLUGIN_FOLDERS = {
  /** The shipped plugins/ folder: notes. */
  shipped: join(ROOT, 'plugins'),
  /** notes (linked) and intruder, a second plugin with a table, for isolation both ways. */
  pair: join(ROOT, 'test', 'fixtures', 'plugins', 'pair'),
  /** notes (linked) and leftover, which services/plugins/lifecycle.test.ts removes and drops. */
  removal: join(ROOT, 'test', 'fixtures', 'plugins', 'removal'),
  /** notes (linked) and castoff, which the CLI's plugin drop test drops. */
  cliDrop: join(ROOT, 'test', 'fixtures', 'plugins', 'cli-drop'),
  /** One plugin whose migration alters a core table. */
  meddler: join(ROOT, 'test', 'fixtures', 'plugins', 'meddler'),
  /** solo_creator, a plugin no other test loads (its role is created and dropped by one test). */
  solo: join(ROOT, 'test', 'fixtures', 'plugins', 'solo'),
  /** Invalid plugins of every kind the loader refuses. */
  invalid: join(ROOT, 'test', 'fixtures', 'plugins', 'invalid'),
}
