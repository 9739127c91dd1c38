import fp from 'fastify-plugin'
import routes from './routes.js'
import { KvService } from './service.js'

declare module 'fastify' {
  interface FastifyInstance {
    /** The JSON key-value store; every method takes an optional transaction to write inside. */
    kv: KvService
  }
}

/** The KV store: `app.kv` for other services, and /api/kv for admins. */
export default fp(
  async (app) => {
    const service = new KvService(() => app.getDb())
    app.decorate('kv', service)
    await app.register(routes, { prefix: '/api/kv', service })
  },
  { name: 'kv', dependencies: ['database', 'admin-auth'] },
)
