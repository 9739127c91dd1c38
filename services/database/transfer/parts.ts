import { getConstructionPlans } from 'pg-boss'
import { BOSS_SCHEMA } from '../../jobs/repository.js'
import { ourTableNames } from '../../setup-wizard/our-tables.js'
import { transferError } from './errors.js'
import { migrate, type MigrationFile } from '../migrator.js'
import type { PartitionInfo } from './partitions.js'
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
  /**
   * For a backup written before partitions were recorded: the partition a table of this part
   * was, known from its name alone; null when it was not one.
   */
  partitionByName?(table: { schema: string; name: string }): PartitionInfo | null
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

/**
 * The job queue (services/jobs): pg-boss's own schema, created on the target by pg-boss's own
 * installation script, run inside the transfer's transaction instead of its own.
 */
export const jobQueuePart: TransferPart = {
  name: 'job queue',
  schemas: [BOSS_SCHEMA],
  // pg-boss writes its version row itself when it creates the schema.
  owns: (table) => table.name !== 'version',
  async prepareTarget(target) {
    const [present] = await target.query<{ present: boolean }>(`select to_regnamespace('${BOSS_SCHEMA}') is not null as present`)
    if (!present?.present) await target.exec(withoutItsTransaction(getConstructionPlans(BOSS_SCHEMA)))
  },
  // pg-boss names a day's partition of queue_stats queue_stats_YYYYMMDD and bounds it by that UTC day.
  partitionByName(table) {
    const day = /^queue_stats_(\d{4})(\d{2})(\d{2})$/.exec(table.name)
    if (!day) return null
    const from = new Date(Date.UTC(Number(day[1]), Number(day[2]) - 1, Number(day[3])))
    const utc = (date: Date) => `'${date.toISOString().slice(0, 10)} 00:00:00+00'`
    // Not a calendar day (Date rolls 20261340 over): not one of pg-boss's.
    if (Number.isNaN(from.getTime()) || utc(from) !== `'${day[1]}-${day[2]}-${day[3]} 00:00:00+00'`) return null
    const to = new Date(from.getTime() + 86_400_000)
    return { schema: table.schema, name: table.name, parent: { schema: table.schema, name: 'queue_stats' }, bound: `FOR VALUES FROM (${utc(from)}) TO (${utc(to)})` }
  },
}

/** pg-boss wraps its script in BEGIN … COMMIT; inside ours that COMMIT would end the transfer's transaction. */
function withoutItsTransaction(script: string): string {
  const trimmed = script.trim()
  const begins = trimmed.match(/\bBEGIN;/g)?.length ?? 0
  const commits = trimmed.match(/\bCOMMIT;/g)?.length ?? 0
  if (!trimmed.startsWith('BEGIN;') || !trimmed.endsWith('COMMIT;') || begins !== 1 || commits !== 1) {
    throw transferError('transfer_refused', 'This version of pg-boss installs its schema in a way the transfer does not know (not one BEGIN … COMMIT). Nothing was changed; report it with the pg-boss version in package.json.')
  }
  return trimmed.slice('BEGIN;'.length, -'COMMIT;'.length)
}

export const PARTS: TransferPart[] = [corePart, jobQueuePart]
