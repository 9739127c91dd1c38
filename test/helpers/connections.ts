import { cp, rm } from 'node:fs/promises'
import { join } from 'node:path'
import pino from 'pino'
import { inject } from 'vitest'
import type { DatabaseType } from '../../services/core/config.js'
import { openConnection, type DatabaseConnection } from '../../services/database/connection.js'
import { tempDir, testConfig } from './app.js'
import { createTestDatabase } from './postgres.js'

export interface TestConnection {
  connection: DatabaseConnection
  /** The throwaway PostgreSQL database's name; null for PGlite. */
  databaseName: string | null
  close(): Promise<void>
}

/**
 * A real, migrated connection of either kind, opened the way the server opens it: PGlite on a
 * copy of the migrated template, or a pool on a throwaway PostgreSQL database. close() removes it.
 */
export async function openTestConnection(kind: DatabaseType): Promise<TestConnection> {
  const log = pino({ level: 'silent' })
  if (kind === 'pglite') {
    const dataDir = await tempDir()
    await cp(inject('pgliteTemplate'), join(dataDir, 'pglite'), { recursive: true })
    const connection = await openConnection('pglite', testConfig({ PERSISTENT_DATA_DIR: dataDir }), log)
    // As the server does once its services have started: queries then take the path they take in production.
    connection.started()
    return {
      connection,
      databaseName: null,
      async close() {
        await connection.close()
        await rm(dataDir, { recursive: true, force: true })
      },
    }
  }
  const database = await createTestDatabase()
  const dataDir = await tempDir()
  const connection = await openConnection('postgresql', testConfig({ PERSISTENT_DATA_DIR: dataDir, ...database.env }), log)
  const { migrate, readMigrations } = await import('../../services/database/migrator.js')
  await migrate(connection.db, await readMigrations(testConfig().migrationsFolder))
  return {
    connection,
    databaseName: database.name,
    async close() {
      await connection.close()
      await database.drop()
      await rm(dataDir, { recursive: true, force: true })
    },
  }
}

/** The kinds whose tests can run here: PGlite always, PostgreSQL when the test server answers. */
export const KINDS: DatabaseType[] = inject('postgresReachable') ? ['pglite', 'postgresql'] : ['pglite']
