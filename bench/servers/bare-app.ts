import Fastify, { type FastifyInstance } from 'fastify'
import { loggerOptions } from '../../services/core/logger.js'

/** The baselines' Fastify: the same version and logger settings as ours, nothing else. */
export function bareApp(): FastifyInstance {
  const level = (process.env.LOG_LEVEL ?? 'warn') as Parameters<typeof loggerOptions>[0]
  return Fastify({ logger: loggerOptions(level, false) })
}

export async function listen(app: FastifyInstance, close: () => Promise<void> = async () => undefined): Promise<void> {
  const stop = () => {
    void app
      .close()
      .then(close)
      .finally(() => process.exit(0))
  }
  process.once('SIGTERM', stop)
  process.once('SIGINT', stop)
  await app.listen({ port: Number(process.env.PORT ?? 0), host: process.env.HOST ?? '127.0.0.1' })
}

/** The SQL a person would write for the same reads and writes our services do. */
export const QUERIES = {
  ping: 'select 1',
  kvRead: 'select value::text as value from kv_entries where key = $1',
  kvWrite: `insert into kv_entries (key, value) values ($1, $2::jsonb)
    on conflict (key) do update set value = excluded.value, updated_at = now() returning value::text as value`,
  kvPathWrite: `insert into kv_entries (key, value) values ($1, jsonb_set('{}'::jsonb, $2::text[], $3::jsonb, true))
    on conflict (key) do update set value = jsonb_set(kv_entries.value, $2::text[], $3::jsonb, true), updated_at = now()
    returning value::text as value`,
  settingRead: 'select key, type, value, encrypted from settings where key = $1',
} as const

export interface KvBody {
  value: unknown
  path?: string
}
