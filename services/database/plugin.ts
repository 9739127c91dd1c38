import fp from 'fastify-plugin'
import type { Database } from './connection.js'
import { DatabaseService } from './database-service.js'
import routes from './routes.js'

declare module 'fastify' {
  interface FastifyInstance {
    database: DatabaseService
    /** The current database; throws database_not_ready (503) until setup is done. Call it per use, never keep the result. */
    getDb: () => Database
    /** For reads that tolerate lag: a read replica when one is up, else the primary (see DatabaseService.getReadDb). */
    getReadDb: () => Database
  }
}

/**
 * Owns the DatabaseService for the app's lifetime: started when the app is ready, closed with it
 * (which stops every service in the lifecycle first). Serves /api/db/status and /api/db/setup.
 */
export default fp(
  async (app) => {
    const database = new DatabaseService(app.config, app.log.child({ service: 'database' }), app.lifecycle)
    app.decorate('database', database)
    app.decorate('getDb', () => database.getDb())
    app.decorate('getReadDb', () => database.getReadDb())
    app.translateErrors((error, request) => database.queryError(error, request.method))
    app.addHook('onReady', () => database.start())
    app.addHook('onClose', () => database.close())
    await app.register(routes, { prefix: '/api/db' })
  },
  { name: 'database', dependencies: ['core', 'admin-auth'] },
)
