import fp from 'fastify-plugin'
import { pluginQueueName } from './definition.js'
import { loadPlugins } from './loader.js'
import { PluginHost } from './service.js'

declare module 'fastify' {
  interface FastifyInstance {
    /** The loaded plugins: their status, settings groups and isolated databases. */
    plugins: PluginHost
  }
}

/**
 * Loads plugins/<id>/ folders and PLUGINS packages while the app is built (an invalid plugin
 * stops startup, named), mounts each one's routes under /api/plugins/<id>/ in its own
 * encapsulated context, defines their jobs' queues (`plugins.<id>.<job>`), and runs them with
 * the database after our migrations. Registered before settings, which adds the plugins' settings
 * groups to its registry.
 */
export default fp(
  async (app) => {
    const loaded = await loadPlugins(app.config)
    const host = new PluginHost(loaded, {
      config: app.config,
      log: app.log.child({ service: 'plugins' }),
      databaseType: () => app.database.status().type,
      readSetting: (key) => app.settings.get(key),
    })
    app.decorate('plugins', host)
    app.database.reportPlugins(() => host.status())
    app.lifecycle.register({
      name: 'plugins',
      start: (db) => host.start(db),
      stop: () => host.stop(),
      problems: () => host.problems(),
    })
    for (const plugin of loaded) {
      const { id, routes, jobs = [] } = plugin.definition
      const context = host.context(id)
      if (routes) await app.register(routes, { prefix: `/api/plugins/${id}`, ...context })
      // The jobs service starts after the plugins and stops before them: handlers always find their database.
      for (const job of jobs) app.jobs.define({ ...job.options, name: pluginQueueName(id, job.name), handler: (run) => job.handler(run, context) })
    }
  },
  { name: 'plugins', dependencies: ['core', 'database', 'admin-auth', 'jobs'] },
)
