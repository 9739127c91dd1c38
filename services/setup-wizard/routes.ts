import type { FastifyPluginAsyncTypebox } from '@fastify/type-provider-typebox'
import type { Config } from '../core/config.js'
import { ErrorBody } from '../core/http/schemas.js'
import { readMigrations } from '../database/migrator.js'
import { setupOptions, tokenHint } from './options.js'
import { runPreflight } from './preflight.js'
import { PreflightBody, SetupOptionsBody, TokenHintBody } from './schemas.js'

/** The wizard page's own API. Choosing and setting up the database stays POST /api/db/setup. */
const routes: FastifyPluginAsyncTypebox<{ config: Config }> = async (app, { config }) => {
  const guarded = { 401: ErrorBody, 429: ErrorBody, 500: ErrorBody }

  app.get(
    '/api/setup/token-hint',
    {
      schema: {
        summary: 'Where the admin token can be read',
        description:
          'Public, because the page must say where to find the token before it has one. It names the variable or the file, never the token; a wrong token\'s 401 says the same.',
        response: { 200: TokenHintBody },
      },
    },
    async () => tokenHint(config),
  )

  app.get(
    '/api/setup/options',
    {
      preHandler: app.requireAdmin,
      schema: {
        summary: 'The database kinds on offer and the PostgreSQL settings found in the environment',
        description: 'Makes no connection. The PostgreSQL password is reported only as set or not set. The page also calls this to check a token.',
        security: [{ adminToken: [] }],
        response: { 200: SetupOptionsBody, ...guarded },
      },
    },
    async () => setupOptions(config, (await readMigrations(config.migrationsFolder)).length),
  )

  app.post(
    '/api/setup/preflight',
    {
      preHandler: app.requireAdmin,
      schema: {
        summary: 'Try the configured PostgreSQL server step by step, changing nothing',
        description:
          'Checks, in order: settings complete, server reachable (with the time taken), login accepted, database exists, server version supported, permission to create tables, and what the database already holds. A failing check is a result (200, ok=false), not an error; checks after it are skipped. Waits at most 3 s for the network; all queries run in a read-only transaction that is rolled back.',
        security: [{ adminToken: [] }],
        response: { 200: PreflightBody, ...guarded },
      },
    },
    async () => runPreflight(config.postgres, await readMigrations(config.migrationsFolder)),
  )
}

export default routes
