import { readFile, writeFile } from 'node:fs/promises'
import { join } from 'node:path'
import { gunzipSync, gzipSync } from 'node:zlib'
import { sql } from 'drizzle-orm'
import { getConstructionPlans } from 'pg-boss'
import pino from 'pino'
import { expect, it, onTestFinished } from 'vitest'
import { describeNoPostgres, describePostgres, tempDir, testConfig } from '../../../test/helpers/app.js'
import { eventually } from '../../../test/helpers/apps.js'
import { databaseForTest } from '../../../test/helpers/postgres-apps.js'
import { openTestConnection } from '../../../test/helpers/connections.js'
import { isServiceError } from '../../core/errors.js'
import { BOSS_SCHEMA } from '../../jobs/repository.js'
import { JobsService } from '../../jobs/service.js'
import { openConnection, type Database, type DatabaseConnection } from '../connection.js'
import { rowsOf } from '../results.js'
import { readMigrations } from '../migrator.js'
import { restoreLogicalBackup, writeLogicalBackup } from './logical-backup.js'
import { overPglite, postgresSession } from './sessions.js'
import { transfer } from './transfer.js'

const log = pino({ level: 'silent' })

// pg-boss keeps each day's queue statistics in a partition named for that UTC day and creates
// only today's and tomorrow's on a new schema: a database that ran for a while holds older days,
// which a freshly created target lacks. (CI found it when a run crossed midnight.)
const OLD_STATS = [{ name: 'test.later', ready_count: 7, captured_on: '2020-01-01 12:00:00+00' }]
async function addOldStatsDay(db: Database) {
  await db.execute(sql.raw(`create table pgboss.queue_stats_20200101 partition of pgboss.queue_stats for values from ('2020-01-01 00:00:00+00') to ('2020-01-02 00:00:00+00')`))
  await db.execute(sql`insert into pgboss.queue_stats (name, ready_count, captured_on) values ('test.later', 7, '2020-01-01 12:00:00+00')`)
}
const oldStats = async (db: Database) =>
  rowsOf(await db.execute(sql`select name, ready_count, to_char(captured_on at time zone 'UTC', 'YYYY-MM-DD HH24:MI:SS') || '+00' as captured_on from pgboss.queue_stats_20200101`))
const jobsOn = (connection: DatabaseConnection) => new JobsService({ log, getDb: () => connection.db, listen: (channel, handler) => connection.listen(channel, handler) })
const jobRows = async (db: Database) =>
  rowsOf<{ id: string; name: string; state: string; data: unknown }>(await db.execute(sql`select id::text as id, name, state::text as state, data from pgboss.job where name = 'test.later' order by id`))

describePostgres('the job queue in a logical backup', () => {
  it('carries pg-boss\'s schema and waiting jobs from the embedded database into PostgreSQL, where they still run', async () => {
    const source = await openTestConnection('pglite')
    onTestFinished(() => source.close())
    const waiting = jobsOn(source.connection)
    waiting.define<{ n: number; text: string }>({ name: 'test.later', handler: async () => undefined })
    await waiting.start(source.connection.db)
    const later = new Date(Date.now() + 3_600_000)
    for (const n of [1, 2, 3]) await waiting.sendNow('test.later', { n, text: 'héllo ✓' }, { startAfter: later })
    await waiting.stop()
    const before = await jobRows(source.connection.db)
    expect(before).toHaveLength(3)
    await addOldStatsDay(source.connection.db)

    const file = join(await tempDir(), 'with-jobs.gz')
    await writeLogicalBackup(source.connection.db, file)
    const database = await databaseForTest()
    const target = await openConnection('postgresql', testConfig({ PERSISTENT_DATA_DIR: await tempDir(), ...database.env }), log)
    onTestFinished(() => target.close())
    await restoreLogicalBackup(file, target.db)
    expect(await jobRows(target.db)).toEqual(before)
    expect(await oldStats(target.db)).toEqual(OLD_STATS)

    // The restored queue works: pg-boss starts on it, and a job sent now runs.
    const ran: number[] = []
    const running = jobsOn(target)
    running.define<{ n: number; text: string }>({ name: 'test.later', handler: async (job) => void ran.push(job.data.n) })
    await running.start(target.db)
    onTestFinished(() => running.stop())
    await running.sendNow('test.later', { n: 4, text: 'now' })
    await eventually('the job sent after the restore to run', () => ran, (r) => r.includes(4))
    expect(ran).toEqual([4])
  })
})

describeNoPostgres('a logical backup without a job queue', () => {
  it('restores into a database that never had one, creating pg-boss\'s schema empty', async () => {
    const source = await openTestConnection('pglite')
    onTestFinished(() => source.close())
    const file = join(await tempDir(), 'no-jobs.gz')
    await writeLogicalBackup(source.connection.db, file)
    const target = await openConnection('pglite', testConfig({ PERSISTENT_DATA_DIR: await tempDir() }), log)
    target.started() // as the CLI's restore does
    onTestFinished(() => target.close())
    await restoreLogicalBackup(file, target.db)
    expect(rowsOf(await target.db.execute(sql`select count(*)::int as n from pgboss.job`))).toEqual([{ n: 0 }])
  })
})

describePostgres('a logical backup written before partitions were recorded', () => {
  it("restores pg-boss's days of queue statistics, known by their names", async () => {
    const source = await openTestConnection('pglite')
    onTestFinished(() => source.close())
    await addOldStatsDay(source.connection.db)
    const file = join(await tempDir(), 'older.gz')
    await writeLogicalBackup(source.connection.db, file)
    // As the previous build wrote it: the same file without the list of partitions in its header.
    const [magic, header, ...rest] = gunzipSync(await readFile(file)).toString('binary').split('\n')
    const older = { ...(JSON.parse(Buffer.from(header!, 'binary').toString('utf8')) as Record<string, unknown>) }
    expect(older.partitions).toEqual(expect.arrayContaining([expect.objectContaining({ name: 'queue_stats_20200101' })]))
    delete older.partitions
    await writeFile(file, gzipSync(Buffer.concat([Buffer.from(`${magic}\n${JSON.stringify(older)}\n`), Buffer.from(rest.join('\n'), 'binary')])))

    const database = await databaseForTest()
    const target = await openConnection('postgresql', testConfig({ PERSISTENT_DATA_DIR: await tempDir(), ...database.env }), log)
    onTestFinished(() => target.close())
    await restoreLogicalBackup(file, target.db)
    expect(await oldStats(target.db)).toEqual(OLD_STATS)
  })
})

describePostgres('the job queue in a transfer', () => {
  it("creates on PostgreSQL the days of queue statistics it lacks, and copies their rows", async () => {
    const source = await openTestConnection('pglite')
    onTestFinished(() => source.close())
    await addOldStatsDay(source.connection.db)
    const database = await databaseForTest()
    const target = await postgresSession({ connectionString: database.url }, 'the test database')
    onTestFinished(() => target.close())

    await transfer(overPglite(source.connection.pglite!, 'the test folder', async () => undefined), target, { migrations: await readMigrations(testConfig().migrationsFolder) })
    expect(await database.query(`select name, ready_count, to_char(captured_on at time zone 'UTC', 'YYYY-MM-DD HH24:MI:SS') || '+00' as captured_on from pgboss.queue_stats_20200101`)).toEqual(OLD_STATS)
    expect(await database.query(`select pg_get_expr(relpartbound, oid) as bound from pg_class where oid = 'pgboss.queue_stats_20200101'::regclass`)).toEqual([
      { bound: "FOR VALUES FROM ('2020-01-01 00:00:00+00') TO ('2020-01-02 00:00:00+00')" },
    ])
  })

  it('refuses a day the target cannot take (another partition holds its range), and leaves the target as it was', async () => {
    const source = await openTestConnection('pglite')
    onTestFinished(() => source.close())
    await addOldStatsDay(source.connection.db)
    const database = await databaseForTest()
    // pg-boss's schema is there already, with that day under a name of its own.
    await database.query(getConstructionPlans(BOSS_SCHEMA))
    await database.query(`create table pgboss.stats_jan_first partition of pgboss.queue_stats for values from ('2020-01-01 00:00:00+00') to ('2020-01-02 00:00:00+00')`)
    const target = await postgresSession({ connectionString: database.url }, 'the test database')
    onTestFinished(() => target.close())

    const refusal = await transfer(overPglite(source.connection.pglite!, 'the test folder', async () => undefined), target, {
      migrations: await readMigrations(testConfig().migrationsFolder),
    }).catch((error: unknown) => error)
    expect(isServiceError(refusal, 'transfer_refused')).toBe(true)
    expect((refusal as Error).message).toContain('could not get the partition pgboss.queue_stats_20200101 of pgboss.queue_stats')
    expect((refusal as Error).message).toContain('overlap')
    // Rolled back, not left aborted: the target's connection takes queries again.
    expect(await target.query<{ n: number }>('select 1 as n')).toEqual([{ n: 1 }])
    // One transaction: the migrations it had applied before are gone, and no day was added.
    expect(await database.query(`select to_regclass('drizzle.__drizzle_migrations') as journal, to_regclass('public.kv_entries') as kv, to_regclass('pgboss.queue_stats_20200101') as day`)).toEqual([
      { journal: null, kv: null, day: null },
    ])
  })
})
