import { cp, mkdtemp, rm } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { PGlite } from '@electric-sql/pglite'
import pino from 'pino'
import { inject } from 'vitest'
import { loadConfig } from '../../services/core/config.js'
import { openConnection } from '../../services/database/connection.js'
import { migrate, readMigrations } from '../../services/database/migrator.js'
import { SELECTION_VERSION, writeSelection } from '../../services/database/selection-file.js'

/**
 * A fresh PGlite folder costs seconds and ~1 GB to create; reopening a copy costs a fraction.
 * global-setup builds one migrated folder per run and tests copy it.
 */
export async function createPgliteTemplate(): Promise<{ dir: string; remove(): Promise<void> }> {
  const root = await mkdtemp(join(tmpdir(), 'groundwork-template-'))
  const remove = () => rm(root, { recursive: true, force: true })
  try {
    const config = loadConfig({ PERSISTENT_DATA_DIR: root, LOG_LEVEL: 'silent' })
    const connection = await openConnection('pglite', config, pino({ level: 'silent' }))
    try {
      await migrate(connection.db, await readMigrations(config.migrationsFolder))
    } finally {
      await connection.close()
    }
  } catch (error) {
    await remove()
    throw error
  }
  return { dir: join(root, 'pglite'), remove }
}

/** Makes dataDir look like a finished pglite setup: the migrated database and the selection file. */
export async function seedPgliteSetup(dataDir: string): Promise<void> {
  await cp(inject('pgliteTemplate'), join(dataDir, 'pglite'), { recursive: true })
  await writeSelection(dataDir, { type: 'pglite', selectedAt: new Date().toISOString(), version: SELECTION_VERSION })
}

/** Opens the embedded database of the installation in `dataDir` (server and CLI stopped) for `use`, then closes it. */
export async function withPgliteFolder<T>(dataDir: string, use: (client: PGlite) => Promise<T>): Promise<T> {
  const client = new PGlite(join(dataDir, 'pglite'))
  try {
    return await use(client)
  } finally {
    await client.close()
  }
}
