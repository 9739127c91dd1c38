import { join } from 'node:path'
import { ADMIN_TOKEN_FILE } from '../admin-auth/admin-token.js'
import type { Config } from '../core/config.js'
import { pgliteDataDir } from '../database/connection.js'
import { resolvePostgresSettings, type PostgresTarget } from '../database/postgres-settings.js'
import type { SetupOptions, TokenHint } from './schemas.js'
import { RESTART_NOTE } from './variables.js'

/** What the wizard offers, from the config alone: no connection is made. */
export function setupOptions(config: Config, migrationsTotal: number): SetupOptions {
  const { target, missing } = resolvePostgresSettings(config.postgres)
  const complete = missing.length === 0
  return {
    kinds: [
      {
        type: 'pglite',
        title: 'Embedded (PGlite)',
        summary: 'Nothing to configure: the database lives in a folder next to the service. Best for trying it out and for a single machine.',
        available: true,
        unavailable_reason: null,
      },
      {
        type: 'postgresql',
        title: 'PostgreSQL',
        summary: 'A PostgreSQL server you run or rent, set in the server\'s environment. Best for production, backups and more than one instance.',
        available: complete,
        unavailable_reason: complete ? null : `${missing.join(', ')} ${missing.length === 1 ? 'is' : 'are'} not set. ${RESTART_NOTE}`,
      },
    ],
    postgresql: {
      ...target,
      missing,
      how_to_set: complete ? null : howToSet(target),
      example: complete ? null : example(target),
    },
    pglite_data_dir: pgliteDataDir(config),
    migrations_total: migrationsTotal,
  }
}

export function tokenHint(config: Config): TokenHint {
  // Mirrors loadAdminToken: ADMIN_TOKEN wins, else the generated file.
  if (config.adminToken) {
    return { source: 'environment', where: 'the ADMIN_TOKEN environment variable of the server', command: null }
  }
  const path = join(config.persistentDataDir, ADMIN_TOKEN_FILE)
  return { source: 'file', where: path, command: `cat ${path}` }
}

function howToSet(target: PostgresTarget): string {
  if (target.source === 'DATABASE_URL') {
    return `DATABASE_URL is set but incomplete. Give it every part: DATABASE_URL=postgresql://user:password@host:5432/database (add ?sslmode=verify-full for TLS). ${RESTART_NOTE}`
  }
  return `Set the variables in the environment the server starts with (the shell, the "environment:" of docker-compose.yml, or the systemd unit). POSTGRES_PASSWORD is needed unless the server trusts this machine; POSTGRES_PORT defaults to 5432 and POSTGRES_SSL to disable. Alternatively set DATABASE_URL=postgresql://user:password@host:5432/database. ${RESTART_NOTE}`
}

function example(target: PostgresTarget): string | null {
  if (target.source === 'DATABASE_URL') return 'DATABASE_URL=postgresql://user:password@host:5432/database'
  return [
    `POSTGRES_HOST=${target.host ?? '<server name or IP>'}`,
    `POSTGRES_PORT=${target.port}`,
    `POSTGRES_DATABASE=${target.database ?? '<database name>'}`,
    `POSTGRES_USER=${target.user ?? '<user name>'}`,
    'POSTGRES_PASSWORD=<the password>',
    `POSTGRES_SSL=${target.ssl}`,
  ].join('\n')
}
