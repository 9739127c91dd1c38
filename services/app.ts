import Fastify, { type FastifyServerOptions } from 'fastify'
import type { TypeBoxTypeProvider } from '@fastify/type-provider-typebox'
import adminAuth from './admin-auth/plugin.js'
import type { Config } from './core/config.js'
import { loggerOptions } from './core/logger.js'
import { requestLoggerFactory } from './core/request-logger.js'
import core from './core/plugin.js'
import database from './database/plugin.js'
import health from './health/plugin.js'
import jobs from './jobs/plugin.js'
import kv from './kv/plugin.js'
import plugins from './plugins/plugin.js'
import settings from './settings/plugin.js'
import setupWizard from './setup-wizard/plugin.js'

/**
 * The app's modules, in registration order. Each is a named fastify-plugin that declares its
 * dependencies (Fastify refuses to start if one is missing or comes later), decorates the app with
 * its service, and mounts its own routes. A new service adds one line here.
 */
export const MODULES = [adminAuth, database, health, setupWizard, jobs, plugins, settings, kv]

export interface AppOptions {
  /** Overrides the production logger (tests pass a stream to read the log). */
  logger?: FastifyServerOptions['logger']
  loggerInstance?: FastifyServerOptions['loggerInstance']
}

/** Builds the whole app, as production runs it; the server, the tests and the benchmark all call this. */
export async function buildApp(config: Config, options: AppOptions = {}) {
  const app = Fastify({
    ...(options.loggerInstance ? { loggerInstance: options.loggerInstance } : { logger: options.logger ?? loggerOptions(config.logLevel) }),
    // Each request's logger formats its request id only when the request logs (core/request-logger.ts).
    childLoggerFactory: requestLoggerFactory,
    // Reject unknown fields instead of silently dropping them.
    ajv: { customOptions: { removeAdditional: false, coerceTypes: false } },
    return503OnClosing: true,
    // KV keys travel in the path, percent-encoded: 512 bytes of UTF-8 can take 1536 characters.
    routerOptions: { maxParamLength: 4096 },
    trustProxy: false,
  }).withTypeProvider<TypeBoxTypeProvider>()

  await app.register(core, { config })
  for (const module of MODULES) await app.register(module)
  return app
}

export type App = Awaited<ReturnType<typeof buildApp>>
