import { ourTableNames } from '../../setup-wizard/our-tables.js'
import { migrate, type MigrationFile } from '../migrator.js'
import type { Session } from './sessions.js'

export interface PrepareContext {
  /** This build's migrations (a backup's: the prefix it was taken at). */
  migrations: MigrationFile[]
  onApply?(tag: string): void
}

/**
 * Something the database service owns and a transfer or a logical backup must carry: its
 * schemas, which tables in them are its own, and how to create them on an empty target.
 * The core tables are one part; plugin schemas (plugin_*) and the job queue (pgboss) add
 * theirs to PARTS, and transfer, backup and restore carry them with no other change.
 */
export interface TransferPart {
  name: string
  schemas: string[]
  /** Which tables found in `schemas` are this part's; every one of them when absent. */
  owns?(table: { schema: string; name: string }): boolean
  /** Creates this part's tables on the target, inside the transfer's one transaction, before any row is copied. */
  prepareTarget(target: Session, context: PrepareContext): Promise<void>
}

const coreTables = ourTableNames('public')

export const corePart: TransferPart = {
  name: 'core',
  // The public schema may hold other applications' tables on a shared server: only ours are copied.
  schemas: ['public'],
  owns: (table) => coreTables.has(`${table.schema}.${table.name}`),
  // migrate(), not initializeDatabase(): the instance row comes from the source.
  prepareTarget: async (target, context) => void (await migrate(target.db, context.migrations, context.onApply)),
}

export const PARTS: TransferPart[] = [corePart]
