import type { PostgresConfig } from '../../../core/config.js'
import { pgliteDataDir, pgliteLockPath } from '../../connection.js'
import { pgliteLockHolder } from '../../pglite-lock.js'
import { resolvePostgresSettings } from '../../postgres-settings.js'
import { CliError, EXIT, type Command } from '../command.js'
import { adminSocketPath } from '../../admin-socket.js'

export const url: Command = {
  name: 'url',
  summary: 'print the connection URL of the selected PostgreSQL (password masked), or how to reach the embedded one',
  options: { 'show-password': { type: 'boolean', description: 'print the password instead of ****' } },
  async run(context, args) {
    const type = await context.selectedType()
    if (type === 'postgresql') {
      context.print(postgresUrl(context.config.postgres, args.values['show-password'] === true))
      return EXIT.ok
    }
    const { config } = context
    context.print(`the embedded database is the folder ${pgliteDataDir(config)}; it has no network address of its own`)
    const holder = await pgliteLockHolder(pgliteLockPath(config))
    if (holder) {
      context.print(`${holder.who} holds it. If the server serves its admin socket (DB_ADMIN_SOCKET=true), psql reaches it with:`)
      context.print(`  postgresql://postgres@/postgres?host=${encodeURIComponent(adminSocketPath(config).directory)}`)
    } else {
      context.print('"npm run db -- shell" serves it on a local socket while psql runs')
    }
    return EXIT.ok
  },
}

/** The URL psql and drizzle-kit take; built from DATABASE_URL or POSTGRES_* like the server's pool. */
export function postgresUrl(postgres: PostgresConfig, showPassword: boolean): string {
  const settings = resolvePostgresSettings(postgres)
  if (settings.missing.length > 0) throw new CliError(`PostgreSQL is selected but ${settings.missing.join(', ')} ${settings.missing.length === 1 ? 'is' : 'are'} not set.`)
  const { pool, target } = settings
  const result = new URL('postgresql://placeholder')
  result.hostname = pool.host!.startsWith('/') ? '' : pool.host!.includes(':') ? `[${pool.host}]` : pool.host!
  if (pool.host!.startsWith('/')) result.searchParams.set('host', pool.host!)
  result.port = String(pool.port)
  result.username = encodeURIComponent(pool.user!)
  if (typeof pool.password === 'string') result.password = showPassword ? encodeURIComponent(pool.password) : '****'
  result.pathname = `/${encodeURIComponent(pool.database!)}`
  if (target.ssl !== 'disable') result.searchParams.set('sslmode', target.ssl)
  return result.toString()
}
