import type { ConnectionOptions } from 'node:tls'
import type { PoolConfig } from 'pg'
import type { PostgresConfig, SslMode } from '../core/config.js'

/** What the service will connect to, safe to show anyone: the password only as set or not. */
export interface PostgresTarget {
  source: 'DATABASE_URL' | 'POSTGRES_*'
  host: string | null
  port: number
  database: string | null
  user: string | null
  ssl: SslMode
  passwordSet: boolean
}

export interface PostgresSettings {
  target: PostgresTarget
  /** Variables that must be set before a connection can be tried; empty when complete. */
  missing: string[]
  pool: PoolConfig
}

const REQUIRED_POSTGRES_VARIABLES = ['POSTGRES_HOST', 'POSTGRES_DATABASE', 'POSTGRES_USER'] as const

/**
 * TCP keepalive after a minute of silence on every connection. NAT gateways, cloud load balancers
 * and firewalls drop a connection that has been quiet for a few minutes (AWS's NAT gateway after
 * 350 s, Azure's load balancer after 4 min) without telling either side. The LISTEN connection is
 * quiet by design, and a pooled one between bursts: without probes the next query on it waits for
 * the kernel's retransmissions, and LISTEN never learns. The probes keep such a path open, and
 * without keepalive Linux would send its first one only after two hours (tcp_keepalive_time).
 * Node 24's libuv also sets the probes one second apart, ten of them (TCP_KEEPINTVL, TCP_KEEPCNT),
 * so a connection whose server vanished, idle or waiting on a query the server had received, ends
 * with ETIMEDOUT about 70 s after the last packet (measured: veth pair taken down mid-query).
 */
export const KEEPALIVE_IDLE_MS = 60_000

/** Resolves DATABASE_URL (which wins) or POSTGRES_* into one pg Pool configuration. */
export function resolvePostgresSettings(config: PostgresConfig, overrides: { connectionTimeoutMs?: number; max?: number } = {}): PostgresSettings {
  const fromUrl = config.url ? parseUrl(config.url) : null
  const host = fromUrl ? fromUrl.host : config.host
  const port = fromUrl ? fromUrl.port : config.port
  const database = fromUrl ? fromUrl.database : config.database
  const user = fromUrl ? fromUrl.user : config.user
  const password = fromUrl ? fromUrl.password : config.password
  const ssl = fromUrl?.sslmode ?? config.ssl

  const missing = fromUrl
    ? [!host && 'host', !database && 'database name', !user && 'user'].filter(Boolean).map((part) => `DATABASE_URL (${part})`)
    : REQUIRED_POSTGRES_VARIABLES.filter((name) => !{ POSTGRES_HOST: host, POSTGRES_DATABASE: database, POSTGRES_USER: user }[name])

  return {
    target: { source: fromUrl ? 'DATABASE_URL' : 'POSTGRES_*', host, port, database, user, ssl, passwordSet: password !== null },
    missing,
    pool: {
      host: host ?? undefined,
      port,
      database: database ?? undefined,
      user: user ?? undefined,
      password: password ?? undefined,
      ssl: tlsOptions(ssl, config.sslCa),
      max: overrides.max ?? config.poolMax,
      idleTimeoutMillis: config.idleTimeoutMs,
      connectionTimeoutMillis: overrides.connectionTimeoutMs ?? config.connectionTimeoutMs,
      keepAlive: true,
      keepAliveInitialDelayMillis: KEEPALIVE_IDLE_MS,
      application_name: 'groundwork',
    },
  }
}

/** libpq's meanings: `require` encrypts without checking the certificate; the verify modes check it. */
export function tlsOptions(mode: SslMode, ca: string | null): false | ConnectionOptions {
  const withCa = ca ? { ca } : {}
  switch (mode) {
    case 'disable':
      return false
    case 'require':
      return { rejectUnauthorized: false }
    case 'verify-ca':
      return { rejectUnauthorized: true, ...withCa, checkServerIdentity: () => undefined }
    case 'verify-full':
      return { rejectUnauthorized: true, ...withCa }
  }
}

export function describeTarget(target: PostgresTarget): string {
  return `${target.user ?? '?'}@${target.host ?? '?'}:${target.port}/${target.database ?? '?'}`
}

function parseUrl(raw: string) {
  // loadConfig has already checked that the URL parses and its sslmode is one of ours.
  const url = new URL(raw)
  const decode = (value: string) => (value ? decodeURIComponent(value) : null)
  const socketHost = url.searchParams.get('host')
  return {
    host: socketHost ?? (decode(url.hostname.replace(/^\[|\]$/g, '')) || null),
    port: url.port ? Number(url.port) : 5432,
    database: decode(url.pathname.replace(/^\//, '')),
    user: decode(url.username),
    password: decode(url.password),
    sslmode: (url.searchParams.get('sslmode') as SslMode | null) ?? null,
  }
}
