import fp from 'fastify-plugin'
import type { Config } from './config.js'
import { registerErrorHandling, type ErrorTranslator } from './http/error-handler.js'
import { closeConnectionsWhenClosing } from './http/graceful-close.js'
import { registerOpenApi } from './http/openapi.js'
import { Lifecycle } from './lifecycle.js'

declare module 'fastify' {
  interface FastifyInstance {
    /** The validated configuration, read once at startup. */
    config: Config
    /** Starts and stops services with the database: `app.lifecycle.register({ name, start, stop })`. */
    lifecycle: Lifecycle
    /** Teaches the error handler what a module's own failures mean, instead of a 500 (see ErrorTranslator). */
    translateErrors: (translator: ErrorTranslator) => void
  }
}

/** What every module relies on: the config, the service lifecycle, the one error handler, OpenAPI. */
export default fp(
  async (app, { config }: { config: Config }) => {
    app.decorate('config', config)
    app.decorate('lifecycle', new Lifecycle(app.log.child({ service: 'lifecycle' })))
    app.decorate('translateErrors', registerErrorHandling(app))
    closeConnectionsWhenClosing(app)
    await registerOpenApi(app)
  },
  { name: 'core' },
)
