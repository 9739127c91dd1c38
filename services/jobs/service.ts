import type { FastifyBaseLogger } from 'fastify'
import { PgBoss, type Job, type JobResult, type SendOptions as BossSendOptions } from 'pg-boss'
import { messageOf } from '../core/errors.js'
import type { Database, Transaction } from '../database/connection.js'
import { isConnectionLoss } from '../database/connection-errors.js'
import { insideTransaction } from '../database/transaction-guard.js'
import { bossDatabase, transactionDatabase, type Listen } from './boss-database.js'
import { DEAD_LETTER_SUFFIX, resolveDefinition, type JobDefinition, type ResolvedDefinition } from './definition.js'
import { jobsError } from './errors.js'
import { BOSS_SCHEMA, JOB_STATES, countByState, jobById, recentJobs, type JobRow, type JobState } from './repository.js'
import type { JobView, QueueView } from './schemas.js'

/** What a sender may choose per job; retries and the dead letter are the queue's. */
export type SendOptions = Pick<BossSendOptions, 'startAfter' | 'singletonKey' | 'singletonSeconds' | 'priority'>

export interface JobsServiceOptions {
  log: FastifyBaseLogger
  /** The current database, for the admin's reads of pg-boss's table. */
  getDb: () => Database
  /** LISTEN through the database service, so jobs sent anywhere wake the workers at once. */
  listen: Listen
  /** How long stop() lets running jobs finish before failing them (they are retried later). Default 10 s. */
  stopTimeoutMs?: number
  /** How often cron schedules are looked at, in seconds (1–45). Default 30; a schedule's granularity is the minute. */
  cronIntervalSeconds?: number
}

const NO_JOB = '00000000-0000-0000-0000-000000000000'
const DEADLOCK = '40P01'
const RECENT_ERROR_MS = 5 * 60_000

/**
 * Background jobs on pg-boss, in the `pgboss` schema of the app's own database. Services declare
 * queues in code with define() while the app is built; start() creates them once (pg-boss takes an
 * advisory lock for that, and a deadlock is retried), schedules the cron ones and starts a worker per
 * queue; stop() lets running jobs finish, bounded. No HTTP here.
 */
export class JobsService {
  private readonly definitions = new Map<string, ResolvedDefinition>()
  private readonly workers = new Map<string, string>()
  private boss: PgBoss | null = null
  private defining = true
  private lastError: { message: string; at: number } | null = null

  constructor(private readonly options: JobsServiceOptions) {}

  /** Declares a queue and its handler; call it while the app is built, before the database is ready. */
  define<Data extends object>(definition: JobDefinition<Data>): void {
    if (!this.defining) {
      throw jobsError('job_definition_invalid', `Job queue "${definition.name}" was defined after the jobs service started: define queues while the app is built (in a plugin's registration).`)
    }
    const resolved = resolveDefinition(definition as unknown as JobDefinition<never>)
    if (this.definitions.has(resolved.name)) throw jobsError('job_definition_invalid', `Job queue "${resolved.name}" is defined twice: give each queue its own name.`)
    this.definitions.set(resolved.name, resolved)
  }

  /**
   * Enqueues a job inside the caller's transaction: it exists, and its workers wake, only if the
   * transaction commits. Resolves to the job's id (null when a singleton key dropped it).
   */
  async send<Data extends object>(tx: Transaction, queue: string, data: Data, options: SendOptions = {}): Promise<string | null> {
    if (!isTransaction(tx)) {
      throw jobsError(
        'job_send_misuse',
        `app.jobs.send() takes the transaction as its first argument: inside db.transaction(async (tx) => …) call app.jobs.send(tx, "${String(queue)}", data). Outside any transaction, call app.jobs.sendNow("${String(queue)}", data).`,
      )
    }
    const boss = this.running()
    this.definition(queue)
    return boss.send(queue, data, { ...options, db: transactionDatabase(tx) })
  }

  /** Enqueues a job at once, outside any transaction. Inside one it throws: use send(tx, …). */
  async sendNow<Data extends object>(queue: string, data: Data, options: SendOptions = {}): Promise<string | null> {
    if (insideTransaction()) {
      throw jobsError(
        'job_send_misuse',
        `app.jobs.sendNow("${queue}") was called inside a transaction, so the job would not be part of it: on the embedded database the call would wait for the transaction forever, on PostgreSQL the job would run even if the transaction rolled back. Pass the transaction instead: app.jobs.send(tx, "${queue}", data).`,
      )
    }
    const boss = this.running()
    this.definition(queue)
    return boss.send(queue, data, options)
  }

  async start(db: Database): Promise<void> {
    this.defining = false
    const { log } = this.options
    const { db: adapter, backend } = bossDatabase(db, this.options.listen)
    const cron = this.options.cronIntervalSeconds ?? 30
    const boss = new PgBoss({
      db: adapter,
      backend,
      schema: BOSS_SCHEMA,
      useListenNotify: true,
      cronMonitorIntervalSeconds: cron,
      cronWorkerIntervalSeconds: Math.min(cron, 5),
    })
    boss.on('error', (error: unknown) => {
      this.lastError = { message: messageOf(error), at: Date.now() }
      // A lost connection is the database service's to report (once, as an outage); a stack adds nothing.
      if (isConnectionLoss(error)) log.warn(`the job queue lost its database connection, or could not open one: ${messageOf(error)}`)
      else log.error({ err: error }, `the job queue failed: ${messageOf(error)}`)
    })
    boss.on('warning', (warning: { message: string; data?: unknown }) => log.warn({ data: warning.data }, `job queue: ${warning.message}`))
    try {
      await boss.start()
      for (const definition of this.definitions.values()) await createQueue(boss, definition)
      await this.reconcileSchedules(boss)
      for (const definition of this.definitions.values()) this.workers.set(definition.name, await this.work(boss, definition))
    } catch (error) {
      this.workers.clear()
      await boss.stop({ graceful: false }).catch(() => undefined)
      throw new Error(`The job queue (pg-boss, schema "${BOSS_SCHEMA}") could not start: ${messageOf(error)}`, { cause: error })
    }
    this.boss = boss
    log.info({ queues: [...this.definitions.keys()] }, 'job queue started')
  }

  /** Lets running jobs finish (up to stopTimeoutMs, then fails them so they are retried), before the connection closes. */
  async stop(): Promise<void> {
    const boss = this.boss
    this.boss = null
    this.workers.clear()
    await boss?.stop({ graceful: true, timeout: this.options.stopTimeoutMs ?? 10_000 })
  }

  problems(): string[] {
    const error = this.lastError
    if (!error || Date.now() - error.at > RECENT_ERROR_MS) return []
    return [`The job queue reported an error at ${new Date(error.at).toISOString()}: ${error.message} (the server log has the details).`]
  }

  /** Every queue with its jobs counted by state: the defined ones and their dead-letter queues. */
  async listQueues(): Promise<QueueView[]> {
    this.running()
    const names = this.queueNames()
    const counts = await countByState(this.options.getDb(), names)
    return names.map((name) => {
      const definition = this.definitions.get(name)
      const byState = Object.fromEntries(JOB_STATES.map((state) => [state, 0])) as Record<JobState, number>
      for (const row of counts) if (row.name === name) byState[row.state] = row.count
      return {
        name,
        dead_letter_of: definition ? null : name.slice(0, -DEAD_LETTER_SUFFIX.length),
        dead_letter: definition?.deadLetter ?? null,
        schedule: definition?.schedule?.cron ?? null,
        counts: byState,
      }
    })
  }

  async listJobs(queue: string, state: JobState | null, limit: number): Promise<JobView[]> {
    this.running()
    this.knownQueue(queue)
    return (await recentJobs(this.options.getDb(), queue, state, limit)).map(view)
  }

  /**
   * A failed job runs again (one more retry), a cancelled one resumes; a job in a dead-letter
   * queue goes back to its queue as a new job, in one transaction.
   */
  async retry(queue: string, id: string): Promise<JobView> {
    const boss = this.running()
    const source = this.knownQueue(queue)
    const job = await this.job(queue, id)
    if (source) {
      if (job.state !== 'created') throw conflict(job, 'retried from the dead-letter queue')
      const newId = await this.options.getDb().transaction(async (tx) => {
        const sent = await this.send(tx, source, (job.data ?? {}) as object)
        await boss.deleteJob(queue, id, { db: transactionDatabase(tx) })
        return sent
      })
      return this.job(source, newId!)
    }
    if (job.state === 'failed') await boss.retry(queue, id)
    else if (job.state === 'cancelled') await boss.resume(queue, id)
    else throw conflict(job, 'retried: only failed or cancelled jobs can be')
    const workId = this.workers.get(queue)
    if (workId) boss.notifyWorker(workId)
    return this.job(queue, id)
  }

  /** Cancels a job that has not finished. A running handler is not interrupted; its outcome is dropped. */
  async cancel(queue: string, id: string): Promise<JobView> {
    const boss = this.running()
    this.knownQueue(queue)
    const job = await this.job(queue, id)
    if (job.state === 'completed' || job.state === 'cancelled' || job.state === 'failed') throw conflict(job, 'cancelled')
    await boss.cancel(queue, id)
    const after = await this.job(queue, id)
    if (after.state !== 'cancelled') throw conflict(after, 'cancelled')
    return after
  }

  private async work(boss: PgBoss, definition: ResolvedDefinition): Promise<string> {
    const seconds = definition.pollingIntervalSeconds
    return boss.work(
      definition.name,
      {
        batchSize: definition.batchSize,
        localConcurrency: definition.concurrency,
        // A NOTIFY wakes the worker for every job sent; polling is for delayed jobs and retries.
        pollingIntervalSeconds: seconds,
        notifyPollingIntervalSeconds: seconds,
        // A full batch means more are waiting: fetch again at once instead of after the interval.
        burstWhenBatchFull: true,
        perJobResults: true,
      },
      (jobs: Job<object>[]) => this.run(definition, jobs),
    )
  }

  /** One job after the other, each settled on its own: one failure does not fail the batch. */
  private async run(definition: ResolvedDefinition, jobs: Job<object>[]): Promise<JobResult[]> {
    const results: JobResult[] = []
    for (const job of jobs) {
      try {
        await definition.handler(job)
        results.push({ id: job.id, status: 'completed' })
      } catch (error) {
        const final = job.retryCount >= definition.retryLimit
        const outcome = final ? (definition.deadLetter ? `moved to ${definition.deadLetter}` : 'dropped, no retries left') : 'will be retried'
        this.options.log[final ? 'error' : 'warn']({ err: error, queue: definition.name, job: job.id, attempt: job.retryCount + 1 }, `job ${definition.name} ${job.id} failed (${outcome}): ${messageOf(error)}`)
        // Only the message: the admin reads outputs through the API, the stack stays in the log.
        results.push({ id: job.id, status: 'failed', output: { message: messageOf(error) } })
      }
    }
    return results
  }

  /** Schedules live in the database: one removed from the code must be removed there too. */
  private async reconcileSchedules(boss: PgBoss): Promise<void> {
    for (const definition of this.definitions.values()) {
      const { schedule } = definition
      if (schedule) await boss.schedule(definition.name, schedule.cron, schedule.data ?? null, { tz: schedule.tz ?? 'UTC' })
    }
    for (const stored of await boss.getSchedules()) {
      const definition = this.definitions.get(stored.name)
      if (definition && !definition.schedule) await boss.unschedule(stored.name, stored.key)
    }
  }

  private running(): PgBoss {
    if (!this.boss) {
      throw jobsError('jobs_not_started', 'The job queue is not running yet (the database is not ready, or the jobs service failed to start): GET /api/db/status shows why under "services". Try again in a moment.')
    }
    return this.boss
  }

  private definition(queue: string): ResolvedDefinition {
    const definition = this.definitions.get(queue)
    if (!definition) throw unknownQueue(queue, this.queueNames())
    return definition
  }

  /** Null for a defined queue, the source queue's name for a dead-letter queue; throws for anything else. */
  private knownQueue(queue: string): string | null {
    if (this.definitions.has(queue)) return null
    if (queue.endsWith(DEAD_LETTER_SUFFIX)) {
      const source = this.definitions.get(queue.slice(0, -DEAD_LETTER_SUFFIX.length))
      if (source?.deadLetter === queue) return source.name
    }
    throw unknownQueue(queue, this.queueNames())
  }

  private queueNames(): string[] {
    return [...this.definitions.values()].flatMap((definition) => (definition.deadLetter ? [definition.name, definition.deadLetter] : [definition.name]))
  }

  private async job(queue: string, id: string): Promise<JobView> {
    const row = await jobById(this.options.getDb(), queue, id)
    if (!row) throw jobsError('job_not_found', `Queue "${queue}" has no job ${id}: it never existed or was deleted after its retention time. GET /api/jobs/${queue} lists its recent jobs.`)
    return view(row)
  }
}

/** createQueue keeps an existing queue as it was: the options from the code are applied on every start. */
async function createQueue(boss: PgBoss, definition: ResolvedDefinition): Promise<void> {
  const { name, deadLetter } = definition
  const options = {
    retryLimit: definition.retryLimit,
    retryDelay: definition.retryDelay,
    retryBackoff: definition.retryBackoff,
    expireInSeconds: definition.expireInSeconds,
    notify: true,
  }
  // pg-boss accepts a longest delay only with backoff.
  const retryDelayMax = definition.retryBackoff ? definition.retryDelayMax : null
  if (deadLetter) await retryDeadlock(() => boss.createQueue(deadLetter))
  await retryDeadlock(() => boss.createQueue(name, { ...options, ...(retryDelayMax ? { retryDelayMax } : {}), ...(deadLetter ? { deadLetter } : {}) }))
  await boss.updateQueue(name, { ...options, retryDelayMax, deadLetter })
  // pg-boss looks a queue up in its cache before each send, and a miss reads the table outside the
  // caller's transaction: fill the cache now, outside any transaction.
  for (const queue of deadLetter ? [name, deadLetter] : [name]) await boss.getJobById(queue, NO_JOB)
}

/** pg-boss serializes createQueue under an advisory lock; should a deadlock still happen, trying again is safe. */
async function retryDeadlock<T>(task: () => Promise<T>, attempts = 5): Promise<T> {
  for (let attempt = 1; ; attempt++) {
    try {
      return await task()
    } catch (error) {
      if ((error as { code?: unknown }).code !== DEADLOCK || attempt >= attempts) throw error
      await new Promise((resolve) => setTimeout(resolve, 50 * attempt + Math.random() * 100))
    }
  }
}

function isTransaction(tx: unknown): tx is Transaction {
  const candidate = tx as { rollback?: unknown; execute?: unknown } | null
  return typeof candidate?.rollback === 'function' && typeof candidate.execute === 'function'
}

function unknownQueue(queue: string, known: string[]) {
  return jobsError('job_queue_not_found', `There is no job queue "${queue}". Known queues: ${known.join(', ') || 'none'}. Queues are defined in code with app.jobs.define().`, {
    details: { queue },
  })
}

function conflict(job: JobView, what: string) {
  return jobsError('job_state_conflict', `Job ${job.id} is ${job.state}, so it cannot be ${what}.`, { details: { state: job.state } })
}

function view(row: JobRow): JobView {
  return {
    id: row.id,
    queue: row.name,
    state: row.state,
    data: row.data ?? null,
    output: row.output ?? null,
    retry_count: row.retry_count,
    retry_limit: row.retry_limit,
    start_after: iso(row.start_after)!,
    created_on: iso(row.created_on)!,
    started_on: iso(row.started_on),
    completed_on: iso(row.completed_on),
  }
}

function iso(value: Date | string | null): string | null {
  return value === null ? null : new Date(value).toISOString()
}
