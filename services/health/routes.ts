import type { FastifyPluginAsyncTypebox } from '@fastify/type-provider-typebox'
import { Type } from 'typebox'
import { ServiceError } from '../core/errors.js'
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
        response: { 200: Type.Object({ status: Type.Literal('ready') }), ...errorResponses(503) },
      },
    },
    async () => {
      await database.ping(READY_PING_TIMEOUT_MS)
      const pending = database.status().migrations?.pending ?? []
      if (pending.length > 0) {
        throw new ServiceError('database_not_ready', `Migrations are pending: ${pending.join(', ')}. Restart the server or run "npm run db:up".`)
      }
      return { status: 'ready' as const }
    },
  )
}

export default routes
