import fp from 'fastify-plugin'
import routes from './routes.js'
import { JobsService } from './service.js'

declare module 'fastify' {
  interface FastifyInstance {
    /** Background jobs: `app.jobs.define({ name, handler })` while building, `app.jobs.send(tx, name, data)` inside a transaction. */
    jobs: JobsService
  }
}

/** The job queue (pg-boss in the `pgboss` schema): app.jobs for services and plugins, and /api/jobs for the admin. */
export default fp(
  async (app) => {
    const service = new JobsService({
      log: app.log.child({ service: 'jobs' }),
      getDb: () => app.getDb(),
      listen: (channel, handler) => app.database.listen(channel, handler),
    })
    app.decorate('jobs', service)
    // Registered once every plugin is: the queue starts after the services whose handlers it runs,
    // and stops (finishing running jobs) before them, while the connection is still open.
    app.addHook('onReady', () => {
      app.lifecycle.register({
        name: 'jobs',
        start: (db) => service.start(db),
        stop: () => service.stop(),
        problems: () => service.problems(),
      })
    })
    await app.register(routes, { prefix: '/api/jobs', service })
  },
  { name: 'jobs', dependencies: ['core', 'database', 'admin-auth'] },
)
