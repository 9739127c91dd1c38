import { setTimeout as sleep } from 'node:timers/promises'
import { sql } from 'drizzle-orm'
import pino from 'pino'
import { afterAll, beforeAll, expect, it } from 'vitest'
import { openConnection, type DatabaseConnection } from '../database/connection.js'
import { rowsOf } from '../database/results.js'
import { describePostgres, tempDir, testConfig } from '../../test/helpers/app.js'
import { eventually } from '../../test/helpers/apps.js'
import { createTestDatabase, type TestDatabase } from '../../test/helpers/postgres.js'
import { JobsService } from './service.js'

const INSTANCES = 4
const JOBS = 200
const log = pino({ level: 'silent' })

describePostgres('jobs on several instances sharing one PostgreSQL database', () => {
  let database: TestDatabase
  const connections: DatabaseConnection[] = []
  const services: JobsService[] = []
  const runs: { instance: number; id: string }[] = []
  const cronRuns: number[] = []
  let startedAt = 0

  beforeAll(async () => {
    database = await createTestDatabase()
    const config = testConfig({ PERSISTENT_DATA_DIR: await tempDir(), ...database.env })
    for (let instance = 0; instance < INSTANCES; instance++) {
      const connection = await openConnection('postgresql', config, log)
      connections.push(connection)
      const service = new JobsService({ log, getDb: () => connection.db, listen: (channel, handler) => connection.listen(channel, handler), cronIntervalSeconds: 1 })
      service.define({ name: 'shared.work', pollingIntervalSeconds: 0.5, handler: async (job) => void runs.push({ instance, id: job.id }) })
      service.define({ name: 'shared.cron', pollingIntervalSeconds: 0.5, schedule: { cron: '* * * * *' }, handler: async () => void cronRuns.push(instance) })
      services.push(service)
    }
    startedAt = Date.now()
    // All at once on an empty database: pg-boss's schema and the queues are created concurrently.
    await Promise.all(services.map((service, i) => service.start(connections[i]!.db)))
  })

  afterAll(async () => {
    await Promise.all(services.map((service) => service.stop()))
    await Promise.all(connections.map((connection) => connection.close()))
    await database?.drop()
  })

  it('creates each queue once, whichever instance got there first', async () => {
    const rows = rowsOf<{ name: string; count: number }>(await connections[0]!.db.execute(sql`select name, count(*)::int as count from pgboss.queue group by name order by name`))
    expect(rows.filter((row) => !row.name.startsWith('__pgboss'))).toEqual([
      { name: 'shared.cron', count: 1 },
      { name: 'shared.cron__dead', count: 1 },
      { name: 'shared.work', count: 1 },
      { name: 'shared.work__dead', count: 1 },
    ])
  })

  it('runs every job of a shared queue exactly once across the instances', async () => {
    const sent = await connections[0]!.db.transaction(async (tx) => {
      const ids: string[] = []
      for (let i = 0; i < JOBS; i++) ids.push((await services[0]!.send(tx, 'shared.work', { i }))!)
      return ids
    })
    await eventually('every job to run', () => runs.length, (count) => count >= JOBS, 60_000)
    // Give a duplicate the time to show up before counting.
    await sleep(1000)
    expect(runs).toHaveLength(JOBS)
    expect(new Set(runs.map((run) => run.id))).toEqual(new Set(sent))
  })

  it('sends a cron job once per occurrence, whatever the number of instances', async () => {
    await eventually('the scheduled job to run', () => cronRuns.length, (count) => count > 0, 60_000)
    // Several cron passes of every instance.
    await sleep(4000)
    const finishedAt = Date.now()
    // pg-boss forwards each occurrence through its send-it queue, filed under the minute the occurrence
    // falls in; the job that forward then sends on the queue itself carries no slot (its singleton_on is
    // null), so the occurrences are counted on the forwards.
    const forwards = rowsOf<{ slot: string; count: number }>(
      await connections[0]!.db.execute(
        sql`select singleton_on::text as slot, count(*)::int as count from pgboss.job where name = '__pgboss__send-it' and singleton_key = 'shared.cron__' group by singleton_on`,
      ),
    )
    const [sent] = rowsOf<{ count: number }>(await connections[0]!.db.execute(sql`select count(*)::int as count from pgboss.job where name = 'shared.cron'`))
    // Every minute from the one before the instances started to now holds at most one occurrence of "* * * * *".
    const minutes = Math.floor(finishedAt / 60_000) - Math.floor(startedAt / 60_000) + 2
    expect(forwards.length).toBeGreaterThan(0)
    expect(forwards.length).toBeLessThanOrEqual(minutes)
    expect(forwards.every((forward) => forward.count === 1)).toBe(true)
    // One job per occurrence, and each ran once, on whichever instance took it.
    expect(sent!.count).toBe(forwards.length)
    expect(cronRuns).toHaveLength(sent!.count)
  })
})
