import type { FastifyPluginAsyncTypebox } from '@fastify/type-provider-typebox'
import { errorResponses } from '../core/http/schemas.js'
import { readMigrations } from '../database/migrator.js'
import { setupOptions, tokenHint } from './options.js'
import { runPreflight } from './preflight.js'
import { PreflightBody, SetupOptionsBody, TokenHintBody } from './schemas.js'

/** The wizard page's own API. Choosing and setting up the database stays POST /api/db/setup. */
const routes: FastifyPluginAsyncTypebox = async (app) => {
  const { config } = app
  const guarded = errorResponses(401, 429, 500)

  app.get(
    '/token-hint',
    {
      schema: {
        operationId: 'getAdminTokenHint',
        tags: ['setup'],
        summary: 'Where the admin token can be read',
        description:
          'Public, because the page must say where to find the token before it has one. It names the variable or the file, never the token; a wrong token\'s 401 says the same.',
        response: { 200: TokenHintBody, ...errorResponses(500) },
      },
    },
    async () => tokenHint(config),
  )

  app.get(
    '/options',
    {
      preHandler: app.requireAdmin,
      schema: {
        operationId: 'getSetupOptions',
        tags: ['setup'],
        summary: 'The database kinds on offer and the PostgreSQL settings found in the environment',
        description: 'Makes no connection. The PostgreSQL password is reported only as set or not set. The page also calls this to check a token.',
        security: [{ adminToken: [] }],
        response: { 200: SetupOptionsBody, ...guarded },
      },
    },
    async () => setupOptions(config, (await readMigrations(config.migrationsFolder)).length),
  )

  app.post(
    '/preflight',
    {
      preHandler: app.requireAdmin,
      schema: {
        operationId: 'runSetupPreflight',
        tags: ['setup'],
        summary: 'Try the configured PostgreSQL server step by step, changing nothing',
        description:
          'Checks, in order: settings complete, server reachable (with the time taken), login accepted, database exists, server version supported, permission to create tables, what the database already holds, and whether the installed plugins can run as roles of their own. A failing check is a result (200, ok=false), not an error; checks after it are skipped. Waits at most 3 s for the network; all queries run in a read-only transaction that is rolled back.',
        security: [{ adminToken: [] }],
        response: { 200: PreflightBody, ...guarded },
      },
    },
    async () => runPreflight(config.postgres, await readMigrations(config.migrationsFolder), undefined, app.hasDecorator('plugins') ? app.plugins.ids : []),
  )
}

export default routes
