import type { FastifyPluginAsyncTypebox } from '@fastify/type-provider-typebox'
import { Type } from 'typebox'
import { ErrorBody } from '../core/http/schemas.js'
import type { DatabaseService } from '../database/database-service.js'

const READY_PING_TIMEOUT_MS = 2_000

/** Probes for orchestrators: /health says the process is alive, /ready that it can serve data. */
const routes: FastifyPluginAsyncTypebox<{ database: DatabaseService }> = async (app, { database }) => {
  app.get(
    '/health',
    { schema: { summary: 'The process is alive', response: { 200: Type.Object({ status: Type.Literal('ok') }) } } },
    async () => ({ status: 'ok' as const }),
  )

  app.get(
    '/ready',
    {
      schema: {
        summary: 'The database is set up, reachable and fully migrated',
        description: 'Every failure is a 503 whose code and message say what is wrong (not set up, starting, unreachable, migrations pending).',
        response: { 200: Type.Object({ status: Type.Literal('ready') }), 503: ErrorBody },
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
