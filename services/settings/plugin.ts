import fp from 'fastify-plugin'
import { definitionModules } from './definitions/index.js'
import { loadEncryptionKey } from './encryption-key.js'
import type { SettingsGroupDefinition } from './definition.js'
import { buildRegistry } from './registry.js'
import routes from './routes.js'
import { SettingsService } from './service.js'

declare module 'fastify' {
  interface FastifyInstance {
    /** The application's settings: `await app.settings.get('smtp.port')`. */
    settings: SettingsService
  }
}

/** The application's own configuration in the database: app.settings, and /api/settings for the admin. */
export default fp(
  async (app, options: { definitions?: Record<string, SettingsGroupDefinition> }) => {
    // A bad definition stops startup, named; the key is loaded (or generated) at the service's start.
    const registry = buildRegistry({ ...(options.definitions ?? definitionModules), ...(app.hasDecorator('plugins') ? app.plugins.settingsGroups() : {}) })
    const log = app.log.child({ service: 'settings' })
    const service = new SettingsService(() => app.getDb(), registry, {
      log,
      encryption: () => loadEncryptionKey(app.config.encryptionSecret, app.config.persistentDataDir, log),
      databaseType: () => app.database.status().type,
    })
    app.decorate('settings', service)
    app.jobs.define({
      name: 'settings.key-check',
      // Daily, at a quiet hour; once per day across every instance.
      schedule: { cron: '17 3 * * *' },
      retryLimit: 2,
      handler: () => service.checkEncryptionKey(),
    })
    app.lifecycle.register({
      name: 'settings',
      start: (db) => service.start(db),
      problems: () => service.problems(),
    })
    await app.register(routes, { prefix: '/api/settings' })
  },
  { name: 'settings', dependencies: ['core', 'database', 'admin-auth', 'jobs'] },
)
