import fp from 'fastify-plugin'
import type { Config } from '../core/config.js'
import type { Database } from './connection.js'
import { DatabaseService } from './database-service.js'

declare module 'fastify' {
  interface FastifyInstance {
    database: DatabaseService
    /** The current database; throws database_not_ready (503) until setup is done. Call it per use, never keep the result. */
    getDb: () => Database
  }
}

/** Owns the DatabaseService for the app's lifetime: started when the app is ready, closed with it. */
export default fp(
  async (app, { config }: { config: Config }) => {
    const database = new DatabaseService(config, app.log.child({ service: 'database' }))
    app.decorate('database', database)
    app.decorate('getDb', () => database.getDb())
    app.addHook('onReady', () => database.start())
    app.addHook('onClose', () => database.close())
  },
  { name: 'database' },
)
