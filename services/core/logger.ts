import type { FastifyRequest, FastifyServerOptions } from 'fastify'
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

/** Query parameter names that may carry a credential; "key" also covers api_key, apikey, … */
const CREDENTIAL_PARAM = /token|passw|pwd|secret|key|auth|credential|session|signature|^sig$|jwt|cookie/i

/** The URL with the value of every credential-like query parameter replaced: the server refuses them, but the access log would keep them. */
export function redactUrl(url: string): string {
  const start = url.indexOf('?')
  if (start === -1) return url
  const query = url
    .slice(start + 1)
    .split('&')
    .map((pair) => {
      const equals = pair.indexOf('=')
      if (equals === -1) return pair
      return CREDENTIAL_PARAM.test(decodeName(pair.slice(0, equals))) ? `${pair.slice(0, equals)}=[redacted]` : pair
    })
  return `${url.slice(0, start)}?${query.join('&')}`
}

function decodeName(name: string): string {
  try {
    return decodeURIComponent(name.replace(/\+/g, ' '))
  } catch {
    return name
  }
}

/** Fastify's own request serializer, with the URL redacted. */
function serializeRequest(request: FastifyRequest) {
  return {
    method: request.method,
    url: redactUrl(request.url),
    version: [request.headers?.['accept-version']].flat()[0],
    host: request.host,
    remoteAddress: request.ip,
    remotePort: request.socket?.remotePort,
  }
}

/** Fastify's pino logger: JSON for machines, pretty only when a person watches a terminal. */
export function loggerOptions(level: LogLevel, pretty = process.stdout.isTTY === true): FastifyServerOptions['logger'] {
  return {
    level,
    redact: { paths: REDACTED_PATHS, censor: '[redacted]' },
    serializers: { req: serializeRequest },
    ...(pretty ? { transport: { target: 'pino-pretty', options: { translateTime: 'HH:MM:ss', ignore: 'pid,hostname' } } } : {}),
  }
}
