import { spawn } from 'node:child_process'
import { copyFile, readdir, stat, writeFile } from 'node:fs/promises'
import { join } from 'node:path'
import { setTimeout as sleep } from 'node:timers/promises'
import { describe, expect, it } from 'vitest'
import { describePostgres, tempDir } from '../../../test/helpers/app.js'
import { databaseForTest } from '../../../test/helpers/postgres-apps.js'
import { dbCli } from '../../../test/helpers/cli.js'
import { closedPort } from '../../../test/helpers/network.js'
import { entryIn, ROOT, runTs, waitFor } from '../../../test/helpers/processes.js'
import { REAL_TAGS } from '../../../test/helpers/migrations.js'
import { SMTP_PASSWORD, withSettingsIn } from '../../../test/helpers/transfer-data.js'
import { loadConfig } from '../../core/config.js'
import { EXIT } from './command.js'
import { postgresUrl } from './commands/url.js'
import { libpqEnvironment } from './psql.js'

describe('db url and the psql environment', () => {
  const postgres = (env: Record<string, string>) => loadConfig({ ...env }).postgres
  it('masks the password unless asked, and builds the same target from DATABASE_URL or POSTGRES_*', () => {
    const fromUrl = postgres({ DATABASE_URL: 'postgresql://app:s%40cret@db.example:6543/appdb?sslmode=require' })
    expect(postgresUrl(fromUrl, false)).toBe('postgresql://app:****@db.example:6543/appdb?sslmode=require')
    expect(postgresUrl(fromUrl, true)).toBe('postgresql://app:s%40cret@db.example:6543/appdb?sslmode=require')
    const fromParts = postgres({ POSTGRES_HOST: 'db', POSTGRES_USER: 'app', POSTGRES_DATABASE: 'appdb' })
    expect(postgresUrl(fromParts, false)).toBe('postgresql://app@db:5432/appdb')
  })

  it('hands psql the password through PGPASSWORD, never its arguments', () => {
    const env = libpqEnvironment(postgres({ DATABASE_URL: 'postgresql://app:secret@db:5432/appdb' }))
    expect(env).toMatchObject({ PGHOST: 'db', PGPORT: '5432', PGUSER: 'app', PGDATABASE: 'appdb', PGPASSWORD: 'secret', PGSSLMODE: 'disable' })
  })
})

describePostgres('db commands on PostgreSQL', () => {
  it('up, status, verify and shell work on a throwaway database; verify names a foreign table', async () => {
    const database = await databaseForTest()
    const env = { ...database.env, DB_TYPE: 'postgresql', PERSISTENT_DATA_DIR: await tempDir() }
    expect((await dbCli(env, ['up'])).code).toBe(EXIT.ok)

    const status = await dbCli(env, ['status', '--json'])
    expect(status.code).toBe(EXIT.ok)
    expect(JSON.parse(status.out)).toMatchObject({ type: 'postgresql', source: 'environment', counts_from: 'database', migrations: { applied: REAL_TAGS.length, pending: [] } })
    expect(JSON.parse(status.out).tables).toContainEqual({ table: 'public.instance', rows: 1 })

    expect((await dbCli(env, ['verify'])).code).toBe(EXIT.ok)
    const shell = await dbCli(env, ['shell', '-c', 'create table stray (id int)'])
    expect(shell.code).toBe(EXIT.ok)
    const verify = await dbCli(env, ['verify'])
    expect(verify.code).toBe(EXIT.problems)
    expect(verify.out).toContain('table public.stray is not part of our schema')
  })

  it('status exits 1 with the reason when the database cannot be reached', async () => {
    const env = { DB_TYPE: 'postgresql', PERSISTENT_DATA_DIR: await tempDir(), POSTGRES_HOST: '127.0.0.1', POSTGRES_PORT: '1', POSTGRES_USER: 'x', POSTGRES_DATABASE: 'x' }
    const { code, out } = await dbCli(env, ['status'])
    expect(code).toBe(EXIT.failed)
    expect(out).toContain('Could not reach PostgreSQL at 127.0.0.1:1')
  })

  it('shell: Ctrl-C cancels the running query and the CLI waits for psql instead of dying with it', async () => {
    const database = await databaseForTest()
    const env = { ...database.env, DB_TYPE: 'postgresql', PERSISTENT_DATA_DIR: await tempDir(), LOG_LEVEL: 'silent', PORT: String(await closedPort()) }
    expect((await dbCli(env, ['up'])).code).toBe(EXIT.ok)
    // Its own process group, as a terminal's foreground job: Ctrl-C signals the whole group.
    const child = spawn(process.execPath, ['--import', 'tsx', join(ROOT, 'services/database/cli/main.ts'), 'shell', '-c', 'select pg_sleep(60)'], {
      cwd: ROOT,
      env: { PATH: process.env.PATH ?? '/usr/bin:/bin', HOME: process.env.HOME ?? '/tmp', ...env },
      stdio: ['ignore', 'pipe', 'pipe'],
      detached: true,
    })
    let output = ''
    child.stdout.on('data', (chunk: Buffer) => (output += chunk.toString()))
    child.stderr.on('data', (chunk: Buffer) => (output += chunk.toString()))
    const exited = new Promise<{ code: number | null; signal: NodeJS.Signals | null }>((resolve) => child.on('exit', (code, signal) => resolve({ code, signal })))
    try {
      const sleeping = `select count(*)::int as n from pg_stat_activity where datname = current_database() and application_name = 'groundwork-shell' and query like '%pg_sleep%' and state = 'active'`
      for (let tries = 0; (await database.query<{ n: number }>(sleeping))[0]!.n === 0; tries++) {
        if (tries > 600 || child.exitCode !== null) throw new Error(`psql's query never ran. The output:\n${output}`)
        await sleep(50)
      }
      process.kill(-child.pid!, 'SIGINT')
      // psql -c exits 1 on the cancelled query, and the CLI says so with its own exit; killed, it
      // would have ended by SIGINT before psql had answered.
      expect(await exited, output).toEqual({ code: EXIT.failed, signal: null })
      expect(output).toContain('canceling statement due to user request')
    } finally {
      if (child.exitCode === null) process.kill(-child.pid!, 'SIGKILL')
    }
  })

  it('shell says clearly when psql cannot be found', async () => {
    const database = await databaseForTest()
    const env = { ...database.env, DB_TYPE: 'postgresql', PERSISTENT_DATA_DIR: await tempDir() }
    const { code, err } = await dbCli(env, ['shell', '--psql', '/nonexistent/psql', '-c', 'select 1'])
    expect(code).toBe(EXIT.failed)
    expect(err).toContain('psql is not installed')
  })
})

describePostgres('db backup and restore on PostgreSQL', () => {
  it('writes a checked logical backup while the data stays usable, refuses to overwrite it, and restores it into an empty database', async () => {
    const source = await databaseForTest()
    const dataDir = await tempDir()
    const env = { ...source.env, DB_TYPE: 'postgresql', PERSISTENT_DATA_DIR: dataDir }
    expect((await dbCli(env, ['up'])).code).toBe(EXIT.ok)
    await source.query(`insert into kv_entries (key, value) select 'k' || g, jsonb_build_object('n', g, 'text', 'héllo ✓') from generate_series(1, 500) g`)
    await withSettingsIn(env, (settings) => settings.set('smtp.password', SMTP_PASSWORD))

    const file = `${dataDir}/copy.groundwork.gz`
    const backup = await dbCli(env, ['backup', file])
    expect(backup.code).toBe(EXIT.ok)
    expect(backup.out).toMatch(/rows in \d+ tables, read back and checked/)
    expect(backup.out).toContain(`the backup holds 1 encrypted setting, and not the key that reads it: keep a copy of the key file ${dataDir}/encryption.key apart from the backup`)
    const again = await dbCli(env, ['backup', file])
    expect(again.code).toBe(EXIT.failed)
    expect(again.err).toContain(`${file} already exists`)

    // Into a folder with --keep 1: the older logical backup goes, the embedded one of the same folder stays.
    const folder = await tempDir()
    await writeFile(`${folder}/postgresql-2026-01-01T00-00-00Z.groundwork.gz`, 'x')
    await writeFile(`${folder}/pglite-2026-01-01T00-00-00Z.tar.gz`, 'x')
    const kept = await dbCli(env, ['backup', folder, '--keep', '1'])
    expect(kept.code, kept.err).toBe(EXIT.ok)
    expect(kept.out).toContain(`--keep 1: removed the oldest from ${folder} (postgresql-2026-01-01T00-00-00Z.groundwork.gz); 1 backup of this kind kept`)
    expect((await readdir(folder)).sort()).toEqual(['pglite-2026-01-01T00-00-00Z.tar.gz', expect.stringMatching(/^postgresql-\d{4}-.*Z\.groundwork\.gz$/)])

    // No file given: into persistent_data/backups/, which the first backup makes (it failed with ENOENT);
    // readable by this user only, as the data and the secrets it holds.
    const defaulted = await dbCli(env, ['backup'])
    expect(defaulted.code, defaulted.err).toBe(EXIT.ok)
    const [name] = await readdir(`${dataDir}/backups`)
    expect(name).toMatch(/^postgresql-\d{4}-.*Z\.groundwork\.gz$/)
    expect((await stat(`${dataDir}/backups/${name}`)).mode & 0o777).toBe(0o600)
    // A path that ends with a slash is a folder, made if missing, not a file named "nightly".
    const slashed = await dbCli(env, ['backup', `${dataDir}/nightly/`])
    expect(slashed.out).toContain(`wrote ${dataDir}/nightly/postgresql-`)

    const target = await databaseForTest()
    const targetEnv = { ...target.env, DB_TYPE: 'postgresql', PERSISTENT_DATA_DIR: await tempDir() }
    const restore = await dbCli(targetEnv, ['restore', file])
    expect(restore.code).toBe(EXIT.ok)
    // Restored where the key is not: said, with what to copy before the server starts.
    expect(restore.out).toContain(`which this installation does not have (ENCRYPTION_SECRET is not set and ${targetEnv.PERSISTENT_DATA_DIR}/encryption.key does not exist). Before starting the server, copy encryption.key`)
    const digest = `select count(*)::int as n, md5(string_agg(key || value::text, ',' order by key)) as sum from kv_entries`
    expect(await target.query(digest)).toEqual(await source.query(digest))
    expect(await target.query('select id from instance')).toEqual(await source.query('select id from instance'))

    // A second restore finds rows of ours and changes nothing.
    const refused = await dbCli(targetEnv, ['restore', file])
    expect(refused.code).toBe(EXIT.failed)
    expect(refused.err).toContain("restored only into an empty database")
    expect(await target.query(digest)).toEqual(await source.query(digest))

    // The same file loads into a new embedded database too: a local copy of production.
    const embeddedEnv = { DB_TYPE: 'pglite', PERSISTENT_DATA_DIR: await tempDir() }
    await copyFile(`${dataDir}/encryption.key`, `${embeddedEnv.PERSISTENT_DATA_DIR}/encryption.key`)
    const intoPglite = await dbCli(embeddedEnv, ['restore', file])
    expect(intoPglite.code, intoPglite.err).toBe(EXIT.ok)
    expect(intoPglite.out).toContain("its 1 encrypted setting can be read with this installation's key")
    const status = JSON.parse((await dbCli(embeddedEnv, ['status', '--json'])).out)
    expect(status.tables).toContainEqual({ table: 'public.kv_entries', rows: 500 })
  })
  it('an interrupted backup (Ctrl-C while it writes) leaves no temp file and no backup, exit 130', async () => {
    const source = await databaseForTest()
    const dataDir = await tempDir()
    const env = { ...source.env, DB_TYPE: 'postgresql', PERSISTENT_DATA_DIR: dataDir, LOG_LEVEL: 'silent', PORT: String(await closedPort()) }
    expect((await dbCli(env, ['up'])).code).toBe(EXIT.ok)
    // ~13 MB that barely compresses, so writing and reading it back takes a while.
    await source.query(`insert into kv_entries (key, value)
      select 'k' || g, jsonb_build_object('b', (select string_agg(md5(random()::text || i || g), '') from generate_series(1, 1000) i))
      from generate_series(1, 400) g`)

    const running = runTs('services/database/cli/main.ts', env, ['backup', `${dataDir}/copy.groundwork.gz`])
    const temp = await waitFor('the backup\'s temp file', running, 60_000, entryIn(dataDir, /^\.copy\.groundwork\.gz\.\d+\.[0-9a-f]+\.tmp$/), 10)
    const exit = await running.signal('SIGINT')
    expect(exit, running.output()).toEqual({ code: 130, signal: null })
    expect(running.output()).toContain(`interrupted (SIGINT): removed what it had not finished: ${dataDir}/${temp}.`)
    expect((await readdir(dataDir)).filter((name) => name.includes('copy'))).toEqual([])
  })
})
