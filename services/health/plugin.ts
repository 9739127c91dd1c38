import fp from 'fastify-plugin'
import routes from './routes.js'

/** /health (the process is alive) and /ready (the database can serve), for orchestrators. */
export default fp(
  async (app) => {
    await app.register(routes)
  },
  { name: 'health', dependencies: ['database'] },
)
