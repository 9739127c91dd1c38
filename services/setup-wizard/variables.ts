import type { PostgresTarget } from '../database/postgres-settings.js'

export type SettingPart = 'host' | 'port' | 'database' | 'user' | 'password' | 'ssl'

const POSTGRES_VARIABLE: Record<SettingPart, string> = {
  host: 'POSTGRES_HOST',
  port: 'POSTGRES_PORT',
  database: 'POSTGRES_DATABASE',
  user: 'POSTGRES_USER',
  password: 'POSTGRES_PASSWORD',
  ssl: 'POSTGRES_SSL',
}

/** The variable a person edits to change one part of the connection: DATABASE_URL holds them all when it is set. */
export function variableFor(target: PostgresTarget, part: SettingPart): string {
  return target.source === 'DATABASE_URL' ? 'DATABASE_URL' : POSTGRES_VARIABLE[part]
}

export const RESTART_NOTE = 'Settings are read when the server starts: restart it after changing them, then test again.'
