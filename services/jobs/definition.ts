import type { Job } from 'pg-boss'
import { jobsError } from './errors.js'

/** What a service (or a plugin) declares about one queue: its handler and how failures are retried. */
export interface JobDefinition<Data extends object = object> {
  /** Lower case, `a-z 0-9 . - _`, e.g. `settings.key-check`; prefix it with the service's name. */
  name: string
  /** Runs one job; throwing fails it (retried, then dead-lettered). `job.signal` aborts when the app stops and the time is up. */
  handler: (job: Job<Data>) => Promise<unknown>
  /** Retries after the first failure. Default 3. */
  retryLimit?: number
  /** Seconds before the first retry. Default 5. */
  retryDelay?: number
  /** Double the delay at each retry (with jitter). Default true. */
  retryBackoff?: boolean
  /** Longest delay between retries, in seconds, with backoff. Default 1 hour. */
  retryDelayMax?: number
  /** Seconds a job may run before it counts as failed. Default 15 minutes. */
  expireInSeconds?: number
  /** Keep jobs that failed every retry in `<name>__dead` (default), or drop them with `false`. */
  deadLetter?: boolean
  /** Send a job on this cron schedule (UTC unless `tz`), once per occurrence across every instance. */
  schedule?: { cron: string; data?: Data; tz?: string }
  /** Jobs fetched at once; they run one after the other. Default 10. */
  batchSize?: number
  /** Workers on this queue in this process. Default 1. */
  concurrency?: number
  /**
   * Seconds between fetches when nothing woke the worker: jobs sent anywhere wake it at once
   * (LISTEN/NOTIFY), so this bounds the wait of delayed jobs and retries. Default 2.
   */
  pollingIntervalSeconds?: number
}

/** Filled-in definition, as the service uses it. */
export type ResolvedDefinition = Required<Omit<JobDefinition, 'schedule' | 'deadLetter'>> & {
  schedule: JobDefinition['schedule'] | null
  /** The dead-letter queue's name, or null. */
  deadLetter: string | null
}

export const DEAD_LETTER_SUFFIX = '__dead'
const NAME = /^[a-z0-9][a-z0-9._-]{0,99}$/

export function resolveDefinition(definition: JobDefinition<never>): ResolvedDefinition {
  const { name } = definition
  const problem = (text: string) => jobsError('job_definition_invalid', `Job queue "${name}": ${text}`)
  if (typeof name !== 'string' || !NAME.test(name) || name.includes('__')) {
    throw jobsError('job_definition_invalid', `Job queue name ${JSON.stringify(name)} is invalid: use 1 to 100 of a-z, 0-9, ".", "-" and "_" (no "__"), starting with a letter or digit, e.g. "settings.key-check".`)
  }
  if (typeof definition.handler !== 'function') throw problem('handler must be an async function (job) => …')
  const resolved: ResolvedDefinition = {
    name,
    handler: definition.handler as ResolvedDefinition['handler'],
    retryLimit: definition.retryLimit ?? 3,
    retryDelay: definition.retryDelay ?? 5,
    retryBackoff: definition.retryBackoff ?? true,
    retryDelayMax: definition.retryDelayMax ?? 3600,
    expireInSeconds: definition.expireInSeconds ?? 900,
    batchSize: definition.batchSize ?? 10,
    concurrency: definition.concurrency ?? 1,
    pollingIntervalSeconds: definition.pollingIntervalSeconds ?? 2,
    schedule: definition.schedule ?? null,
    deadLetter: definition.deadLetter === false ? null : `${name}${DEAD_LETTER_SUFFIX}`,
  }
  const integers: [keyof ResolvedDefinition, number, number][] = [
    ['retryLimit', 0, 1000],
    ['retryDelay', 0, 86_400],
    ['retryDelayMax', 1, 604_800],
    ['expireInSeconds', 1, 86_400],
    ['batchSize', 1, 1000],
    ['concurrency', 1, 100],
  ]
  for (const [field, min, max] of integers) {
    const value = resolved[field]
    if (!Number.isInteger(value) || (value as number) < min || (value as number) > max) throw problem(`${field} must be a whole number from ${min} to ${max}, not ${String(value)}.`)
  }
  if (typeof resolved.pollingIntervalSeconds !== 'number' || !(resolved.pollingIntervalSeconds >= 0.5 && resolved.pollingIntervalSeconds <= 3600)) {
    throw problem(`pollingIntervalSeconds must be from 0.5 to 3600, not ${String(resolved.pollingIntervalSeconds)}.`)
  }
  if (resolved.schedule && (typeof resolved.schedule.cron !== 'string' || resolved.schedule.cron.trim() === '')) throw problem('schedule.cron must be a cron expression, e.g. "17 3 * * *".')
  return resolved
}
