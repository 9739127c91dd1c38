import type { FastifyPluginAsyncTypebox } from '@fastify/type-provider-typebox'
import { Type } from 'typebox'
import { ServiceError } from '../core/errors.js'
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
        response: { 200: Type.Object({ status: Type.Literal('ready') }), 503: ErrorBody },
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
