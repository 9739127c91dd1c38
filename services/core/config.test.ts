import { writeFile } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { describe, expect, it } from 'vitest'
import { tempDir } from '../../test/helpers/app.js'
import { ConfigError, loadConfig } from './config.js'
import { findProjectRoot } from './project-root.js'

function problemsOf(env: Record<string, string>): string[] {
  try {
    loadConfig(env)
  } catch (error) {
    if (error instanceof ConfigError) return error.problems
    throw error
  }
  throw new Error('expected a ConfigError')
}

describe('loadConfig', () => {
  it('gives the documented defaults for an empty environment', () => {
    const config = loadConfig({})
    expect(config).toMatchObject({ port: 3000, host: '127.0.0.1', logLevel: 'info', dbType: null, adminToken: null })
    expect(config.postgres).toMatchObject({ url: null, port: 5432, ssl: 'disable', poolMax: 10, connectionTimeoutMs: 5000 })
  })

  it('takes PGLITE_SHARED_BUFFERS as a PostgreSQL size, 16MB by default, and names the units it wants', () => {
    expect(loadConfig({}).pglite.sharedBuffers).toBe('16MB')
    expect(loadConfig({ PGLITE_SHARED_BUFFERS: '64MB' }).pglite.sharedBuffers).toBe('64MB')
    expect(loadConfig({ PGLITE_SHARED_BUFFERS: '1GB' }).pglite.sharedBuffers).toBe('1GB')
    for (const bad of ['16', '16mb', '512kB', '2GB', 'lots']) {
      expect(() => loadConfig({ PGLITE_SHARED_BUFFERS: bad })).toThrow(`PGLITE_SHARED_BUFFERS: expected a size from 1MB to 1GB written like 16MB (units kB, MB or GB, as PostgreSQL writes them), got "${bad}"`)
    }
  })

  it('prepares the embedded database in the background unless PGLITE_PREPARE=false', () => {
    expect(loadConfig({}).pglite.prepare).toBe(true)
    expect(loadConfig({ PGLITE_PREPARE: 'false' }).pglite.prepare).toBe(false)
    expect(() => loadConfig({ PGLITE_PREPARE: 'no' })).toThrow('PGLITE_PREPARE: expected one of true, false, got "no"')
  })

  it('puts persistent_data/ and drizzle/ at the project root, whatever the working directory', () => {
    const root = findProjectRoot()
    const cwd = process.cwd()
    process.chdir(tmpdir())
    try {
      const config = loadConfig({})
      expect(config.persistentDataDir).toBe(join(root, 'persistent_data'))
      expect(config.migrationsFolder).toBe(join(root, 'drizzle'))
      expect(config.pluginsFolder).toBe(join(root, 'plugins'))
    } finally {
      process.chdir(cwd)
    }
  })

  it('resolves a relative PERSISTENT_DATA_DIR against the project root', () => {
    expect(loadConfig({ PERSISTENT_DATA_DIR: 'data/here' }).persistentDataDir).toBe(join(findProjectRoot(), 'data/here'))
  })

  it('reports every bad variable at once, each by name with what it expected', () => {
    const problems = problemsOf({ PORT: 'eighty', LOG_LEVEL: 'loud', DB_TYPE: 'mysql', POSTGRES_POOL_MAX: '0', ADMIN_TOKEN: 'short' })
    expect(problems).toEqual([
      expect.stringMatching(/^ADMIN_TOKEN: expected at least 16 characters/),
      'PORT: expected a whole number from 0 to 65535, got "eighty"',
      'LOG_LEVEL: expected one of fatal, error, warn, info, debug, trace, silent, got "loud"',
      'DB_TYPE: expected one of pglite, postgresql, got "mysql"',
      'POSTGRES_POOL_MAX: expected a whole number from 1 to 1000, got "0"',
    ])
  })

  it.each([
    ['false', 'disable'],
    ['true', 'verify-full'],
    ['require', 'require'],
    ['verify-ca', 'verify-ca'],
    ['VERIFY-FULL', 'verify-full'],
  ])('reads POSTGRES_SSL=%s as sslmode %s', (raw, mode) => {
    expect(loadConfig({ POSTGRES_SSL: raw }).postgres.ssl).toBe(mode)
  })

  it('rejects sslmodes the pg driver cannot honour, saying what to use instead', () => {
    expect(problemsOf({ POSTGRES_SSL: 'prefer' })[0]).toMatch(/POSTGRES_SSL: .*choose disable or require/)
  })

  it('reads the CA file named by POSTGRES_SSL_CA_FILE, and names it when it cannot', async () => {
    const dir = await tempDir()
    await writeFile(join(dir, 'ca.pem'), 'PEM')
    expect(loadConfig({ POSTGRES_SSL_CA_FILE: join(dir, 'ca.pem') }).postgres.sslCa).toBe('PEM')
    expect(problemsOf({ POSTGRES_SSL_CA_FILE: join(dir, 'nope.pem') })[0]).toMatch(/^POSTGRES_SSL_CA_FILE: cannot read .*nope\.pem \(ENOENT\)/)
  })

  it('takes ENCRYPTION_SECRET of at least 32 characters, and rejects a shorter one without echoing it', () => {
    const secret = 'a-long-enough-secret-0123456789abcdef'
    expect(loadConfig({ ENCRYPTION_SECRET: secret }).encryptionSecret).toBe(secret)
    expect(loadConfig({}).encryptionSecret).toBeNull()
    const problems = problemsOf({ ENCRYPTION_SECRET: 'short-secret-hunter2' })
    expect(problems).toEqual([expect.stringMatching(/^ENCRYPTION_SECRET: expected at least 32 characters, got 20/)])
    expect(problems.join()).not.toContain('hunter2')
  })

  it('never echoes a DATABASE_URL it rejects, since it may hold a password', () => {
    const problems = problemsOf({ DATABASE_URL: 'mysql://admin:hunter2-secret@db/app' })
    expect(problems[0]).toMatch(/^DATABASE_URL: expected the postgresql:\/\/ or postgres:\/\/ scheme/)
    expect(problems.join()).not.toContain('hunter2-secret')
    expect(problemsOf({ DATABASE_URL: 'not a url hunter2-secret' }).join()).not.toContain('hunter2-secret')
  })

  it('reads PLUGINS as a comma-separated list of npm package names, and names the ones that are not', () => {
    expect(loadConfig({}).pluginPackages).toEqual([])
    expect(loadConfig({ PLUGINS: ' groundwork-plugin-a, @acme/groundwork-b ,' }).pluginPackages).toEqual(['groundwork-plugin-a', '@acme/groundwork-b'])
    expect(problemsOf({ PLUGINS: 'good-one,Bad Name,../escape' })).toEqual([expect.stringMatching(/^PLUGINS: expected a comma-separated list of npm package names.*"Bad Name", "\.\.\/escape" are not/)])
    expect(problemsOf({ PLUGINS: 'a-plugin,a-plugin' })).toEqual([expect.stringMatching(/^PLUGINS: a-plugin listed more than once/)])
  })

  describe('POSTGRES_READ_URLS', () => {
    it('is an empty list when unset', () => {
      expect(loadConfig({}).postgres.readUrls).toEqual([])
    })

    it('reads comma-separated URLs, ignoring blanks and a trailing comma', () => {
      const a = 'postgresql://reader:secret@replica-1:5432/app'
      const b = 'postgres://reader@replica-2/app?sslmode=verify-full'
      expect(loadConfig({ POSTGRES_READ_URLS: ` ${a} ,${b}, ` }).postgres.readUrls).toEqual([a, b])
    })

    it('names the variable and the position of each bad entry, never echoing it', () => {
      const problems = problemsOf({
        POSTGRES_READ_URLS: 'postgresql://r:hunter2-secret@ok/app,not a url hunter2-secret,mysql://r:hunter2-secret@db/app,postgresql://r:hunter2-secret@db/app?sslmode=prefer',
      })
      expect(problems).toEqual([
        'POSTGRES_READ_URLS (entry 2 of 4): not a valid URL; expected postgresql://user:password@host:5432/database',
        'POSTGRES_READ_URLS (entry 3 of 4): expected the postgresql:// or postgres:// scheme, got "mysql://"',
        'POSTGRES_READ_URLS (entry 4 of 4): sslmode=prefer is not supported; expected one of disable, require, verify-ca, verify-full',
      ])
      expect(problems.join()).not.toContain('hunter2')
    })

    it('refuses an entry without host, user or database, which it cannot take from anywhere else', () => {
      expect(problemsOf({ POSTGRES_READ_URLS: 'postgresql://replica:5432/app,postgresql://r@replica:5432' })).toEqual([
        'POSTGRES_READ_URLS (entry 1 of 2): no user; expected postgresql://user:password@host:5432/database',
        'POSTGRES_READ_URLS (entry 2 of 2): no database name; expected postgresql://user:password@host:5432/database',
      ])
    })

    it('refuses the same replica listed twice', () => {
      const url = 'postgresql://r@replica/app'
      expect(problemsOf({ POSTGRES_READ_URLS: `${url},${url}` })).toEqual(['POSTGRES_READ_URLS (entry 2 of 2): the same URL as an earlier entry; list each replica once'])
    })
  })
})
