import { readFileSync } from 'node:fs'
import { isAbsolute, join, resolve } from 'node:path'
import { fileURLToPath } from 'node:url'
import { findProjectRoot } from './project-root.js'

export const DATABASE_TYPES = ['pglite', 'postgresql'] as const
export type DatabaseType = (typeof DATABASE_TYPES)[number]

/** libpq's sslmode words that node-postgres can honour; `true`/`false` are accepted as aliases. */
export const SSL_MODES = ['disable', 'require', 'verify-ca', 'verify-full'] as const
export type SslMode = (typeof SSL_MODES)[number]

const LOG_LEVELS = ['fatal', 'error', 'warn', 'info', 'debug', 'trace', 'silent'] as const
export type LogLevel = (typeof LOG_LEVELS)[number]

export interface PostgresConfig {
  /** DATABASE_URL, kept whole; it wins over the POSTGRES_* variables. Never log it. */
  url: string | null
  host: string | null
  port: number
  database: string | null
  user: string | null
  password: string | null
  ssl: SslMode
  /** Contents of POSTGRES_SSL_CA_FILE, when set. */
  sslCa: string | null
  sslCaFile: string | null
  poolMax: number
  idleTimeoutMs: number
  connectionTimeoutMs: number
  /** POSTGRES_READ_URLS: streaming replicas for reads that tolerate lag. Never log them. */
  readUrls: string[]
}

export interface Config {
  port: number
  host: string
  logLevel: LogLevel
  persistentDataDir: string
  /** DB_TYPE: chooses the database without the wizard. */
  dbType: DatabaseType | null
  /** DB_ADMIN_SOCKET: the server serves the embedded database it holds on a local socket (persistent_data/admin-socket/) for psql and drizzle-kit. */
  adminSocket: boolean
  postgres: PostgresConfig
  adminToken: string | null
  /** ENCRYPTION_SECRET: the encrypted settings' key is derived from it. Never log it. */
  encryptionSecret: string | null
  /** Where the drizzle-kit migrations live; not an environment variable. */
  migrationsFolder: string
  /** Where plugin folders (`plugins/<id>/`) are looked for, beside the running code; null loads none (tests that need no plugin). */
  pluginsFolder: string | null
  /** PLUGINS: npm packages to load as plugins, in order. */
  pluginPackages: string[]
  /** GROUNDWORK_TRANSFER_TEST_DELAY_MS: a pause after each chunk `db transfer` copies, so a test can interrupt it midway. 0 in real use. */
  transferTestDelayMs: number
  pglite: PgliteConfig
}

export interface PgliteConfig {
  /** PGLITE_SHARED_BUFFERS, a PostgreSQL memory size (e.g. 16MB): most of the embedded database's resident memory. */
  sharedBuffers: string
  /**
   * PGLITE_PREPARE: while no database is chosen, create the embedded database in the background
   * (a child process peaking near 900 MB), so that choosing it in the wizard takes a fraction of a second.
   */
  prepare: boolean
  /**
   * PGLITE_MAINTENANCE_INTERVAL_S: how often the server does the work of autovacuum and the
   * checkpointer on the embedded database, which PGlite does not run (pglite-maintenance.ts); 0 turns it off.
   */
  maintenanceIntervalS: number
}

export class ConfigError extends Error {
  readonly problems: string[]
  constructor(problems: string[]) {
    super(`Invalid configuration:\n${problems.map((p) => `  - ${p}`).join('\n')}`)
    this.name = 'ConfigError'
    this.problems = problems
  }
}

type Env = Record<string, string | undefined>

/**
 * plugins/ beside the code that runs: the project's plugins/ under tsx, dist/plugins/ when built
 * (absent unless the build includes plugins, as in the Docker image: it ships none). Plugins are
 * TypeScript modules, so the compiled server never imports the .ts sources.
 */
const PLUGINS_FOLDER = fileURLToPath(new URL('../../plugins', import.meta.url))

/**
 * Turns the environment into a typed config. Every bad value is collected and reported at once,
 * each naming its variable and what it expected. Nothing else reads process.env.
 */
export function loadConfig(env: Env = process.env, root: string = findProjectRoot()): Config {
  const problems: string[] = []
  const read = new Reader(env, problems)

  const sslRaw = read.text('POSTGRES_SSL')
  const sslCaFile = read.text('POSTGRES_SSL_CA_FILE')
  let sslCa: string | null = null
  if (sslCaFile) {
    try {
      sslCa = readFileSync(resolve(root, sslCaFile), 'utf8')
    } catch (error) {
      problems.push(`POSTGRES_SSL_CA_FILE: cannot read ${sslCaFile} (${(error as NodeJS.ErrnoException).code ?? 'error'}); expected a readable PEM file`)
    }
  }

  const url = read.text('DATABASE_URL')
  if (url !== null) checkPostgresUrl('DATABASE_URL', url, problems)
  const readUrls = parseReadUrls(read.text('POSTGRES_READ_URLS'), problems)

  const adminToken = read.text('ADMIN_TOKEN')
  if (adminToken !== null && adminToken.length < 16) {
    problems.push('ADMIN_TOKEN: expected at least 16 characters (use a long random value, e.g. `openssl rand -hex 24`)')
  }

  const encryptionSecret = read.text('ENCRYPTION_SECRET')
  if (encryptionSecret !== null && encryptionSecret.length < 32) {
    problems.push(`ENCRYPTION_SECRET: expected at least 32 characters, got ${encryptionSecret.length} (use a long random value, e.g. \`openssl rand -hex 32\`, and the same one on every instance)`)
  }

  const dataDir = read.text('PERSISTENT_DATA_DIR')
  const config: Config = {
    port: read.integer('PORT', 3000, 0, 65535),
    host: read.text('HOST') ?? '127.0.0.1',
    logLevel: read.choice('LOG_LEVEL', LOG_LEVELS, 'info'),
    persistentDataDir: dataDir ? (isAbsolute(dataDir) ? dataDir : resolve(root, dataDir)) : join(root, 'persistent_data'),
    dbType: read.choice('DB_TYPE', DATABASE_TYPES, null),
    adminSocket: read.choice('DB_ADMIN_SOCKET', ['true', 'false'] as const, 'false') === 'true',
    postgres: {
      url,
      host: read.text('POSTGRES_HOST'),
      port: read.integer('POSTGRES_PORT', 5432, 1, 65535),
      database: read.text('POSTGRES_DATABASE'),
      user: read.text('POSTGRES_USER'),
      password: env.POSTGRES_PASSWORD === undefined || env.POSTGRES_PASSWORD === '' ? null : env.POSTGRES_PASSWORD,
      ssl: parseSsl(sslRaw, problems),
      sslCa,
      sslCaFile,
      poolMax: read.integer('POSTGRES_POOL_MAX', 10, 1, 1000),
      idleTimeoutMs: read.integer('POSTGRES_POOL_IDLE_TIMEOUT_MS', 30_000, 0, 86_400_000),
      connectionTimeoutMs: read.integer('POSTGRES_CONNECT_TIMEOUT_MS', 5_000, 100, 600_000),
      readUrls,
    },
    adminToken,
    encryptionSecret,
    migrationsFolder: join(root, 'drizzle'),
    pluginsFolder: PLUGINS_FOLDER,
    pluginPackages: parsePackageList(read.text('PLUGINS'), problems),
    transferTestDelayMs: read.integer('GROUNDWORK_TRANSFER_TEST_DELAY_MS', 0, 0, 60_000),
    pglite: {
      sharedBuffers: read.memorySize('PGLITE_SHARED_BUFFERS', '16MB', 1024, 1024 * 1024),
      prepare: read.choice('PGLITE_PREPARE', ['true', 'false'] as const, 'true') === 'true',
      maintenanceIntervalS: read.integer('PGLITE_MAINTENANCE_INTERVAL_S', 60, 0, 86_400),
    },
  }

  if (problems.length > 0) throw new ConfigError(problems)
  return config
}

function parseSsl(raw: string | null, problems: string[]): SslMode {
  if (raw === null) return 'disable'
  const value = raw.toLowerCase()
  if (value === 'false') return 'disable'
  if (value === 'true') return 'verify-full'
  if ((SSL_MODES as readonly string[]).includes(value)) return value as SslMode
  problems.push(
    `POSTGRES_SSL: expected one of false, true, ${SSL_MODES.join(', ')} but got "${raw}"` +
      (value === 'prefer' || value === 'allow' ? ' (the pg driver cannot fall back between TLS and plain connections: choose disable or require)' : ''),
  )
  return 'disable'
}

// npm's own rule for package names, scoped or not (lower case, no spaces, no leading dot or underscore).
const PACKAGE_NAME = /^(@[a-z0-9-~][a-z0-9-._~]*\/)?[a-z0-9-~][a-z0-9-._~]*$/

function parsePackageList(raw: string | null, problems: string[]): string[] {
  if (raw === null) return []
  const names = raw.split(',').map((name) => name.trim()).filter((name) => name !== '')
  const bad = names.filter((name) => !PACKAGE_NAME.test(name) || name.length > 214)
  if (bad.length > 0) problems.push(`PLUGINS: expected a comma-separated list of npm package names (e.g. "groundwork-plugin-a,@acme/groundwork-b"), but ${bad.map((name) => `"${name}"`).join(', ')} ${bad.length === 1 ? 'is not one' : 'are not'}`)
  const repeated = names.filter((name, index) => names.indexOf(name) !== index)
  if (repeated.length > 0) problems.push(`PLUGINS: ${[...new Set(repeated)].join(', ')} listed more than once; list each package once`)
  return [...new Set(names)]
}

/** Comma-separated; blanks around entries and empty entries (a trailing comma) are ignored. */
function parseReadUrls(raw: string | null, problems: string[]): string[] {
  if (raw === null) return []
  const urls = raw
    .split(',')
    .map((entry) => entry.trim())
    .filter(Boolean)
  urls.forEach((url, index) => {
    const name = `POSTGRES_READ_URLS (entry ${index + 1} of ${urls.length})`
    const parsed = checkPostgresUrl(name, url, problems)
    // A replica is only ever reached through its URL: a part missing here has no other source.
    if (parsed && !parsed.hostname && !parsed.searchParams.get('host')) problems.push(`${name}: no host; expected postgresql://user:password@host:5432/database`)
    if (parsed && !parsed.username) problems.push(`${name}: no user; expected postgresql://user:password@host:5432/database`)
    if (parsed && parsed.pathname.replace(/^\//, '') === '') problems.push(`${name}: no database name; expected postgresql://user:password@host:5432/database`)
  })
  const seen = new Set<string>()
  urls.forEach((url, index) => {
    if (seen.has(url)) problems.push(`POSTGRES_READ_URLS (entry ${index + 1} of ${urls.length}): the same URL as an earlier entry; list each replica once`)
    seen.add(url)
  })
  return urls
}

/** Null when the value does not parse. The value may hold a password: say what is wrong with it, never echo it. */
function checkPostgresUrl(name: string, url: string, problems: string[]): URL | null {
  let parsed: URL
  try {
    parsed = new URL(url)
  } catch {
    problems.push(`${name}: not a valid URL; expected postgresql://user:password@host:5432/database`)
    return null
  }
  if (parsed.protocol !== 'postgres:' && parsed.protocol !== 'postgresql:') {
    problems.push(`${name}: expected the postgresql:// or postgres:// scheme, got "${parsed.protocol}//"`)
  }
  const sslmode = parsed.searchParams.get('sslmode')
  if (sslmode !== null && !(SSL_MODES as readonly string[]).includes(sslmode)) {
    problems.push(`${name}: sslmode=${sslmode} is not supported; expected one of ${SSL_MODES.join(', ')}`)
  }
  return parsed
}

class Reader {
  constructor(
    private readonly env: Env,
    private readonly problems: string[],
  ) {}

  text(name: string): string | null {
    const value = this.env[name]?.trim()
    return value ? value : null
  }

  integer(name: string, fallback: number, min: number, max: number): number {
    const raw = this.text(name)
    if (raw === null) return fallback
    const value = Number(raw)
    if (!/^\d+$/.test(raw) || value < min || value > max) {
      this.problems.push(`${name}: expected a whole number from ${min} to ${max}, got "${raw}"`)
      return fallback
    }
    return value
  }

  /** A PostgreSQL memory setting (128kB, 16MB, 1GB) between minKb and maxKb kilobytes. */
  memorySize(name: string, fallback: string, minKb: number, maxKb: number): string {
    const raw = this.text(name)
    if (raw === null) return fallback
    const match = /^(\d+)(kB|MB|GB)$/.exec(raw)
    const kb = match ? Number(match[1]) * { kB: 1, MB: 1024, GB: 1024 * 1024 }[match[2] as 'kB' | 'MB' | 'GB'] : NaN
    if (!(kb >= minKb && kb <= maxKb)) {
      this.problems.push(`${name}: expected a size from ${minKb / 1024}MB to ${maxKb / 1024 / 1024}GB written like 16MB (units kB, MB or GB, as PostgreSQL writes them), got "${raw}"`)
      return fallback
    }
    return raw
  }

  choice<T extends string, F extends T | null>(name: string, choices: readonly T[], fallback: F): T | F {
    const raw = this.text(name)
    if (raw === null) return fallback
    if ((choices as readonly string[]).includes(raw)) return raw as T
    this.problems.push(`${name}: expected one of ${choices.join(', ')}, got "${raw}"`)
    return fallback
  }
}
