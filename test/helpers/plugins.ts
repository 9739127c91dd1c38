import { join } from 'node:path'
import { findProjectRoot } from '../../services/core/project-root.js'

const ROOT = findProjectRoot()

/** Plugin folders for tests (config.pluginsFolder); test/fixtures/plugins/ holds the fixtures. */
export const PLUGIN_FOLDERS = {
  /** The shipped plugins/ folder: notes. */
  shipped: join(ROOT, 'plugins'),
  /** notes (linked) and intruder, a second plugin with a table, for isolation both ways. */
  pair: join(ROOT, 'test', 'fixtures', 'plugins', 'pair'),
  /** One plugin whose migration alters a core table. */
  meddler: join(ROOT, 'test', 'fixtures', 'plugins', 'meddler'),
  /** solo_creator, a plugin no other test loads (its role is created and dropped by one test). */
  solo: join(ROOT, 'test', 'fixtures', 'plugins', 'solo'),
  /** Invalid plugins of every kind the loader refuses. */
  invalid: join(ROOT, 'test', 'fixtures', 'plugins', 'invalid'),
}
