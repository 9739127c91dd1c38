import type { FastifyPluginAsyncTypebox } from '@fastify/type-provider-typebox'
import { Type } from 'typebox'
import { errorResponses } from '../core/http/schemas.js'

const READY_PING_TIMEOUT_MS = 2_000

/** Probes for orchestrators: /health says the process is alive, /ready that it can serve data. */
const routes: FastifyPluginAsyncTypebox = async (app) => {
  const { database } = app
  app.get(
    '/health',
    { schema: { operationId: 'getHealth', tags: ['health'], summary: 'The process is alive', response: { 200: Type.Object({ status: Type.Literal('ok') }) } } },
    async () => ({ status: 'ok' as const }),
  )

  app.get(
    '/ready',
    {
      schema: {
        operationId: 'getReadiness',
        tags: ['health'],
        summary: 'The database is set up, reachable and fully migrated',
        description: 'Every failure is a 503 whose code and message say what is wrong (not set up, starting, unreachable, migrations pending).',
        response: { 200: Type.Object({ status: Type.Literal('ready') }), ...errorResponses(503) },
      },
    },
    // Answered here, not through the error handler: every failure is a 503 for the orchestrator
    // (the code says why), and probes must not log an error each; the service logs state changes.
    async (_request, reply) => {
      const problem = await database.readiness(READY_PING_TIMEOUT_MS)
      if (problem) return reply.code(503).send({ error: problem.code, message: problem.message })
      return { status: 'ready' as const }
    },
  )
}

export default routes
