import Fastify, { type FastifyServerOptions } from 'fastify'
import type { TypeBoxTypeProvider } from '@fastify/type-provider-typebox'
import adminAuth from './admin-auth/plugin.js'
import { loadAdminToken } from './admin-auth/admin-token.js'
import type { Config } from './core/config.js'
import { registerErrorHandling } from './core/http/error-handler.js'
import { closeConnectionsWhenClosing } from './core/http/graceful-close.js'
import { registerOpenApi } from './core/http/openapi.js'
import { loggerOptions } from './core/logger.js'
import databasePlugin from './database/plugin.js'
import databaseRoutes from './database/routes.js'
import healthRoutes from './health/routes.js'
import settings from './settings/plugin.js'
import setupWizard from './setup-wizard/plugin.js'

export interface AppOptions {
  /** Overrides the production logger (tests pass a stream to read the log). */
  logger?: FastifyServerOptions['logger']
  loggerInstance?: FastifyServerOptions['loggerInstance']
}

/** Builds the whole app, as production runs it; the server and the tests both call this. */
export async function buildApp(config: Config, options: AppOptions = {}) {
  const app = Fastify({
    ...(options.loggerInstance ? { loggerInstance: options.loggerInstance } : { logger: options.logger ?? loggerOptions(config.logLevel) }),
    // Reject unknown fields instead of silently dropping them.
    ajv: { customOptions: { removeAdditional: false, coerceTypes: false } },
    return503OnClosing: true,
    trustProxy: false,
  }).withTypeProvider<TypeBoxTypeProvider>()

  registerErrorHandling(app)
  closeConnectionsWhenClosing(app)
  await registerOpenApi(app)

  await app.register(databasePlugin, { config })
  await app.register(adminAuth, { token: await loadAdminToken(config, app.log) })
  await app.register(healthRoutes, { database: app.database })
  await app.register(databaseRoutes, { database: app.database })
  await app.register(setupWizard, { config, database: app.database })
  await app.register(settings, { config })

  return app
}

export type App = Awaited<ReturnType<typeof buildApp>>
