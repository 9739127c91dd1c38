import { Type, type Static } from 'typebox'
import { Nullable } from '../core/http/schemas.js'
import { JOB_STATES } from './repository.js'

export const JobStateSchema = Type.Union(
  [Type.Literal('created'), Type.Literal('retry'), Type.Literal('active'), Type.Literal('completed'), Type.Literal('cancelled'), Type.Literal('failed')],
  { description: 'created (waiting, maybe until start_after), retry (failed, waiting for its next attempt), active (running), completed, cancelled, failed (no retries left)' },
)

const Timestamp = Type.String({ format: 'date-time' })

export const JobView = Type.Object({
  id: Type.String({ description: 'The job id (a UUID)' }),
  queue: Type.String(),
  state: JobStateSchema,
  data: Type.Unknown({ description: 'The JSON the job was sent with' }),
  output: Type.Unknown({ description: 'For a failed attempt `{ message }`; null when none' }),
  retry_count: Type.Integer({ description: 'Attempts after the first' }),
  retry_limit: Type.Integer(),
  start_after: Timestamp,
  created_on: Timestamp,
  started_on: Nullable(Timestamp),
  completed_on: Nullable(Timestamp),
})
export type JobView = Static<typeof JobView>

const Counts = Type.Object(Object.fromEntries(JOB_STATES.map((state) => [state, Type.Integer({ minimum: 0 })])) as Record<(typeof JOB_STATES)[number], ReturnType<typeof Type.Integer>>)

export const QueueView = Type.Object({
  name: Type.String(),
  dead_letter: Nullable(Type.String(), { description: 'Where jobs go once every retry failed' }),
  dead_letter_of: Nullable(Type.String(), { description: 'For a dead-letter queue, the queue whose failed jobs it keeps' }),
  schedule: Nullable(Type.String(), { description: 'The cron expression jobs are sent on, if any' }),
  counts: Counts,
})
export type QueueView = Static<typeof QueueView>
