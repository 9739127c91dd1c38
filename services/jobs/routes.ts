import type { FastifyPluginAsyncTypebox } from '@fastify/type-provider-typebox'
import { Type } from 'typebox'
import { errorResponses } from '../core/http/schemas.js'
import { JobStateSchema, JobView, QueueView } from './schemas.js'
import type { JobsService } from './service.js'

const QueueParams = Type.Object({ queue: Type.String({ description: 'A queue name, e.g. settings.key-check, or its dead-letter queue settings.key-check__dead' }) })
const JobParams = Type.Object({
  queue: QueueParams.properties.queue,
  id: Type.String({ pattern: '^[0-9a-fA-F]{8}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{12}$', description: 'The job id (a UUID)' }),
})
const security = [{ adminToken: [] }]
const tags = ['jobs']
const errors = errorResponses(401, 429, 500, 503)

/** /api/jobs: the background job queues, for the admin. Thin: the service does the work. */
const routes: FastifyPluginAsyncTypebox<{ service: JobsService }> = async (app, { service }) => {
  app.addHook('preHandler', app.requireAdmin)

  app.get(
    '',
    {
      schema: {
        operationId: 'listJobQueues',
        summary: 'Every job queue with its jobs counted by state',
        description: 'The queues the code defines, and their dead-letter queues (`<queue>__dead`), which keep the jobs that failed every retry.',
        tags,
        security,
        response: { 200: Type.Object({ queues: Type.Array(QueueView) }), ...errors },
      },
    },
    async () => ({ queues: await service.listQueues() }),
  )

  app.get(
    '/:queue',
    {
      schema: {
        operationId: 'listJobs',
        summary: 'The most recent jobs of a queue, newest first; `?state=` keeps one state',
        tags,
        security,
        params: QueueParams,
        querystring: Type.Object(
          {
            state: Type.Optional(JobStateSchema),
            limit: Type.Optional(Type.String({ pattern: '^[0-9]+$', description: 'Jobs to return, 1–500 (default 50)' })),
          },
          { additionalProperties: false },
        ),
        response: { 200: Type.Object({ queue: Type.String(), jobs: Type.Array(JobView) }), ...errors, ...errorResponses(400, 404) },
      },
    },
    async (request) => {
      const limit = Math.min(500, Math.max(1, Number(request.query.limit ?? 50)))
      return { queue: request.params.queue, jobs: await service.listJobs(request.params.queue, request.query.state ?? null, limit) }
    },
  )

  app.post(
    '/:queue/:id/retry',
    {
      schema: {
        operationId: 'retryJob',
        summary: 'Run a failed or cancelled job again; a dead-lettered job goes back to its queue as a new job',
        tags,
        security,
        params: JobParams,
        response: { 200: JobView, ...errors, ...errorResponses(400, 404, 409) },
      },
    },
    async (request) => service.retry(request.params.queue, request.params.id),
  )

  app.delete(
    '/:queue/:id',
    {
      schema: {
        operationId: 'cancelJob',
        summary: 'Cancel a job that has not finished',
        description: 'A running handler is not interrupted: its outcome is dropped. A cancelled job can be retried.',
        tags,
        security,
        params: JobParams,
        response: { 200: JobView, ...errors, ...errorResponses(400, 404, 409) },
      },
    },
    async (request) => service.cancel(request.params.queue, request.params.id),
  )
}

export default routes
