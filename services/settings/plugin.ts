import fp from 'fastify-plugin'
import type { Config } from '../core/config.js'
import { definitionModules } from './definitions/index.js'
import { loadEncryptionKey } from './encryption-key.js'
import { buildRegistry } from './registry.js'
import routes from './routes.js'
import { SettingsService } from './service.js'

declare module 'fastify' {
  interface FastifyInstance {
    /** The application's settings: `await app.settings.get('smtp.port')`. */
    settings: SettingsService
  }
}

export default fp(
  async (app, { config }: { config: Config }) => {
    // Both throw here, so a bad definition or a damaged key file stops startup with its name.
    const registry = buildRegistry(definitionModules)
    const log = app.log.child({ service: 'settings' })
    const encryption = await loadEncryptionKey(config.encryptionSecret, config.persistentDataDir, log)
    const service = new SettingsService(() => app.getDb(), registry, {
      log,
      encryption,
      databaseType: () => app.database.status().type,
    })
    app.decorate('settings', service)
    app.database.onReady('settings', (db) => service.start(db))
    await app.register(routes, { prefix: '/api/settings', service })
  },
  { name: 'settings', dependencies: ['database', 'admin-auth'] },
)
