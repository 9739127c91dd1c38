import { Type, type Static } from 'typebox'
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
  started_on: Type.Union([Timestamp, Type.Null()]),
  completed_on: Type.Union([Timestamp, Type.Null()]),
})
export type JobView = Static<typeof JobView>

const Counts = Type.Object(Object.fromEntries(JOB_STATES.map((state) => [state, Type.Integer({ minimum: 0 })])) as Record<(typeof JOB_STATES)[number], ReturnType<typeof Type.Integer>>)

export const QueueView = Type.Object({
  name: Type.String(),
  dead_letter: Type.Union([Type.String(), Type.Null()], { description: 'Where jobs go once every retry failed' }),
  dead_letter_of: Type.Union([Type.String(), Type.Null()], { description: 'For a dead-letter queue, the queue whose failed jobs it keeps' }),
  schedule: Type.Union([Type.String(), Type.Null()], { description: 'The cron expression jobs are sent on, if any' }),
  counts: Counts,
})
export type QueueView = Static<typeof QueueView>
