import { sql } from 'drizzle-orm'
import pino from 'pino'
import type { Job } from 'pg-boss'
import { afterAll, beforeAll, expect, it } from 'vitest'
import { isServiceError } from '../core/errors.js'
import type { Database } from '../database/connection.js'
import { rowsOf } from '../database/results.js'
import { eventually } from '../../test/helpers/apps.js'
import { KINDS, openTestConnection, type TestConnection } from '../../test/helpers/connections.js'
import { describeOnKind } from '../../test/helpers/app.js'
import { JobsService } from './service.js'

const log = pino({ level: 'silent' })
const fast = { pollingIntervalSeconds: 0.5, retryDelay: 1, retryBackoff: false }

function serviceOn(connection: TestConnection, options: { stopTimeoutMs?: number } = {}): JobsService {
  return new JobsService({ log, getDb: () => connection.connection.db, listen: (channel, handler) => connection.connection.listen(channel, handler), cronIntervalSeconds: 1, ...options })
}

async function jobRows(db: Database, queue: string): Promise<{ id: string; state: string; data: { n?: string } }[]> {
  return rowsOf(await db.execute(sql`select id::text as id, state::text as state, data from pgboss.job where name = ${queue} order by created_on`))
}

for (const kind of KINDS) {
  describeOnKind(kind)(`jobs on ${kind}`, () => {
    let connection: TestConnection
    let jobs: JobsService
    const ran = { echo: [] as string[], flaky: [] as string[], doomed: [] as string[], cron: [] as string[] }
    let db: Database

    beforeAll(async () => {
      connection = await openTestConnection(kind)
      db = connection.connection.db
      jobs = serviceOn(connection)
      jobs.define<{ n: string }>({ name: 'test.echo', ...fast, handler: async (job) => void ran.echo.push(job.data.n) })
      jobs.define<{ n: string }>({
        name: 'test.flaky',
        ...fast,
        handler: async (job) => {
          ran.flaky.push(`${job.data.n}#${job.retryCount}`)
          if (job.retryCount === 0) throw new Error('first attempt fails')
        },
      })
      jobs.define<{ n: string }>({
        name: 'test.doomed',
        ...fast,
        retryLimit: 2,
        handler: async (job) => {
          ran.doomed.push(`${job.data.n}#${job.retryCount}`)
          throw new Error(`always fails: ${job.data.n}`)
        },
      })
      jobs.define<{ n: string }>({ name: 'test.sleepy', pollingIntervalSeconds: 120, handler: async (job) => void ran.echo.push(job.data.n) })
      jobs.define({ name: 'test.cron', ...fast, schedule: { cron: '* * * * *', data: { n: 'tick' } }, handler: async () => void ran.cron.push('tick') })
      await jobs.start(db)
    })
    afterAll(async () => {
      await jobs?.stop()
      await connection?.close()
    })

    it('runs a job sent outside any transaction', async () => {
      const id = await jobs.sendNow('test.echo', { n: 'now' })
      expect(id).toMatch(/^[0-9a-f-]{36}$/)
      await eventually('the job to run', () => ran.echo, (list) => list.includes('now'))
      await eventually('the job to be completed', () => jobRows(db, 'test.echo'), (rows) => rows.some((row) => row.id === id && row.state === 'completed'))
    })

    it('runs a job sent in a transaction only once it commits; never one whose transaction rolled back', async () => {
      await expect(
        db.transaction(async (tx) => {
          await jobs.send(tx, 'test.echo', { n: 'rolled-back' })
          throw new Error('abandon')
        }),
      ).rejects.toThrow('abandon')
      await db.transaction(async (tx) => {
        await jobs.send(tx, 'test.echo', { n: 'committed' })
      })
      await eventually('the committed job to run', () => ran.echo, (list) => list.includes('committed'))
      expect(ran.echo).not.toContain('rolled-back')
      expect((await jobRows(db, 'test.echo')).map((row) => row.data.n)).not.toContain('rolled-back')
    })

    it('refuses sendNow inside a transaction, and send without the transaction, with a clear error', async () => {
      const inside = await db
        .transaction(async () => {
          await jobs.sendNow('test.echo', { n: 'escaped' })
        })
        .catch((error: unknown) => error)
      expect(isServiceError(inside, 'job_send_misuse')).toBe(true)
      expect((inside as Error).message).toContain('app.jobs.send(tx, "test.echo", data)')
      const noTx = await jobs.send(db as never, 'test.echo', { n: 'no-tx' }).catch((error: unknown) => error)
      expect(isServiceError(noTx, 'job_send_misuse')).toBe(true)
      expect((await jobRows(db, 'test.echo')).map((row) => row.data.n)).not.toContain('escaped')
    })

    it('wakes the worker when a job is sent instead of waiting for its next poll', async () => {
      // The worker polls every 2 minutes: once it has run a first job, only the notification can
      // start the second one sooner.
      await jobs.sendNow('test.sleepy', { n: 'first' })
      await eventually('the first job to run', () => ran.echo, (list) => list.includes('first'), 30_000)
      await db.transaction(async (tx) => {
        await jobs.send(tx, 'test.sleepy', { n: 'woken' })
      })
      await eventually('the job to run', () => ran.echo, (list) => list.includes('woken'), 30_000)
    })

    it('refuses a queue nobody defined', async () => {
      const error = await jobs.sendNow('test.nobody', {}).catch((e: unknown) => e)
      expect(isServiceError(error, 'job_queue_not_found')).toBe(true)
    })

    it('retries a failed job', async () => {
      const id = await jobs.sendNow('test.flaky', { n: 'f' })
      await eventually('the job to complete on its retry', () => jobRows(db, 'test.flaky'), (rows) => rows.some((row) => row.id === id && row.state === 'completed'))
      expect(ran.flaky).toEqual(['f#0', 'f#1'])
    })

    it('moves a job that failed every retry to the dead-letter queue, with its data and error', async () => {
      const id = await jobs.sendNow('test.doomed', { n: 'd' })
      const [dead] = await eventually('the job to be dead-lettered', () => jobs.listJobs('test.doomed__dead', null, 10), (rows) => rows.length === 1)
      expect(dead).toMatchObject({ queue: 'test.doomed__dead', state: 'created', data: { n: 'd' } })
      expect(ran.doomed).toEqual(['d#0', 'd#1', 'd#2'])
      const [failed] = await jobs.listJobs('test.doomed', 'failed', 10)
      expect(failed).toMatchObject({ id, state: 'failed', retry_count: 2, output: { message: 'always fails: d' } })
      const queues = await jobs.listQueues()
      expect(queues.find((queue) => queue.name === 'test.doomed')).toMatchObject({ dead_letter: 'test.doomed__dead', counts: { failed: 1 } })
      expect(queues.find((queue) => queue.name === 'test.doomed__dead')).toMatchObject({ dead_letter_of: 'test.doomed', counts: { created: 1 } })
    })

    it('holds a delayed job until its start time', async () => {
      const id = await jobs.sendNow('test.echo', { n: 'later' }, { startAfter: 3 })
      const [job] = (await jobs.listJobs('test.echo', null, 50)).filter((row) => row.id === id)
      expect(job).toMatchObject({ state: 'created', started_on: null })
      expect(Date.parse(job!.start_after)).toBeGreaterThan(Date.parse(job!.created_on) + 2000)
      const done = await eventually('the delayed job to run', () => jobs.listJobs('test.echo', 'completed', 50), (rows) => rows.some((row) => row.id === id))
      expect(Date.parse(done.find((row) => row.id === id)!.started_on!)).toBeGreaterThanOrEqual(Date.parse(job!.start_after))
    })

    it('sends cron jobs on their schedule', async () => {
      await eventually('the scheduled job to run', () => ran.cron, (list) => list.length > 0, 30_000)
      const rows = await jobRows(db, 'test.cron')
      expect(rows[0]?.data).toEqual({ n: 'tick' })
    })

    it('cancels a waiting job and retries it', async () => {
      const id = (await jobs.sendNow('test.echo', { n: 'cancel-me' }, { startAfter: 3600 }))!
      expect(await jobs.cancel('test.echo', id)).toMatchObject({ id, state: 'cancelled' })
      const again = await jobs.cancel('test.echo', id).catch((e: unknown) => e)
      expect(isServiceError(again, 'job_state_conflict')).toBe(true)
      expect(await jobs.retry('test.echo', id)).toMatchObject({ id, state: 'created' })
    })
  })

  describeOnKind(kind)(`stopping the jobs on ${kind}`, () => {
    let connection: TestConnection
    beforeAll(async () => {
      connection = await openTestConnection(kind)
    })
    afterAll(() => connection?.close())

    it('lets the running job finish before stop() resolves', async () => {
      const jobs = serviceOn(connection)
      let release!: () => void
      const started: string[] = []
      const finished: string[] = []
      jobs.define<{ n: string }>({
        name: 'test.slow',
        ...fast,
        handler: async (job) => {
          started.push(job.data.n)
          await new Promise<void>((resolve) => (release = resolve))
          finished.push(job.data.n)
        },
      })
      await jobs.start(connection.connection.db)
      const id = await jobs.sendNow('test.slow', { n: 'slow' })
      await eventually('the job to start', () => started, (list) => list.length === 1)
      const stopping = jobs.stop()
      setTimeout(() => release(), 300)
      await stopping
      expect(finished).toEqual(['slow'])
      expect((await jobRows(connection.connection.db, 'test.slow')).find((row) => row.id === id)?.state).toBe('completed')
    })

    it('fails a job still running when the stop timeout ends, and aborts its signal', async () => {
      const jobs = serviceOn(connection, { stopTimeoutMs: 1000 })
      let running: Job<object> | null = null
      jobs.define({
        name: 'test.stuck',
        ...fast,
        handler: async (job) => {
          running = job
          await new Promise((resolve) => job.signal.addEventListener('abort', resolve))
        },
      })
      await jobs.start(connection.connection.db)
      const id = await jobs.sendNow('test.stuck', {})
      await eventually('the job to start', () => running, (job) => job !== null)
      await jobs.stop()
      expect(running!.signal.aborted).toBe(true)
      const row = (await jobRows(connection.connection.db, 'test.stuck')).find((r) => r.id === id)
      expect(['retry', 'failed']).toContain(row?.state)
    })
  })
}
