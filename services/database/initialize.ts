import { randomUUID } from 'node:crypto'
import type { DatabaseType } from '../core/config.js'
import type { Database } from './connection.js'
import { migrate, type MigrateResult, type MigrationFile } from './migrator.js'
import { instance } from './schema.js'

/**
 * Brings a database to this build's schema and records the installation in it. The server (at
 * setup and at every start) and db:up all run this, so they leave the database the same way.
 */
export async function initializeDatabase(db: Database, type: DatabaseType, files: MigrationFile[], onApply?: (tag: string) => void): Promise<MigrateResult> {
  const result = await migrate(db, files, onApply)
  // The single-row constraint makes this a no-op for every instance after the first.
  await db.insert(instance).values({ id: randomUUID(), databaseType: type }).onConflictDoNothing()
  return result
}
