import { sql } from 'drizzle-orm'
import type { Executor } from '../database/connection.js'
import { rowsOf } from '../database/results.js'

/** pg-boss keeps its tables in this schema, apart from ours (drizzle-kit never sees it). */
export const BOSS_SCHEMA = 'pgboss'

export const JOB_STATES = ['created', 'retry', 'active', 'completed', 'cancelled', 'failed'] as const
export type JobState = (typeof JOB_STATES)[number]

export interface JobRow {
  id: string
  name: string
  state: JobState
  data: unknown
  output: unknown
  retry_count: number
  retry_limit: number
  start_after: Date | string
  created_on: Date | string
  started_on: Date | string | null
  completed_on: Date | string | null
}

// Read straight from pg-boss's table: its getQueues() counts come from a cache refreshed by a monitor.
export async function countByState(ex: Executor, names: string[]): Promise<{ name: string; state: JobState; count: number }[]> {
  const result = await ex.execute(sql`
    select name, state::text as state, count(*)::int as count
    from pgboss.job
    where name in (select jsonb_array_elements_text(${JSON.stringify(names)}::jsonb))
    group by name, state`)
  return rowsOf(result)
}

const COLUMNS = sql.raw('id::text as id, name, state::text as state, data, output, retry_count, retry_limit, start_after, created_on, started_on, completed_on')

export async function recentJobs(ex: Executor, name: string, state: JobState | null, limit: number): Promise<JobRow[]> {
  const result = await ex.execute(sql`
    select ${COLUMNS} from pgboss.job
    where name = ${name} and (${state}::text is null or state::text = ${state}::text)
    order by created_on desc, id
    limit ${limit}`)
  return rowsOf(result)
}

export async function jobById(ex: Executor, name: string, id: string): Promise<JobRow | null> {
  const result = await ex.execute(sql`select ${COLUMNS} from pgboss.job where name = ${name} and id = ${id}::uuid`)
  return rowsOf<JobRow>(result)[0] ?? null
}
