import type { FastifyServerOptions } from 'fastify'
import type { LogLevel } from './config.js'

/** Paths that may carry a secret in any log line. */
export const REDACTED_PATHS = [
  'req.headers.authorization',
  'headers.authorization',
  'authorization',
  'password',
  '*.password',
  'token',
  '*.token',
  'adminToken',
  '*.adminToken',
  'encryptionSecret',
  '*.encryptionSecret',
  'connectionString',
  '*.connectionString',
]

/** Fastify's pino logger: JSON for machines, pretty only when a person watches a terminal. */
export function loggerOptions(level: LogLevel, pretty = process.stdout.isTTY === true): FastifyServerOptions['logger'] {
  return {
    level,
    redact: { paths: REDACTED_PATHS, censor: '[redacted]' },
    ...(pretty ? { transport: { target: 'pino-pretty', options: { translateTime: 'HH:MM:ss', ignore: 'pid,hostname' } } } : {}),
  }
}
