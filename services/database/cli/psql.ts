import { spawn } from 'node:child_process'
import type { PostgresConfig } from '../../core/config.js'
import { resolvePostgresSettings } from '../postgres-settings.js'
import { CliError } from './command.js'

/** libpq's variables for the selected PostgreSQL: the password travels in PGPASSWORD, never on the command line. */
export function libpqEnvironment(postgres: PostgresConfig): Record<string, string> {
  const settings = resolvePostgresSettings(postgres)
  if (settings.missing.length > 0) throw new CliError(`PostgreSQL is selected but ${settings.missing.join(', ')} ${settings.missing.length === 1 ? 'is' : 'are'} not set.`)
  const { pool, target } = settings
  return {
    PGHOST: pool.host!,
    PGPORT: String(pool.port),
    PGDATABASE: pool.database!,
    PGUSER: pool.user!,
    ...(typeof pool.password === 'string' ? { PGPASSWORD: pool.password } : {}),
    PGSSLMODE: target.ssl,
    ...(postgres.sslCaFile ? { PGSSLROOTCERT: postgres.sslCaFile } : {}),
    PGAPPNAME: 'groundwork-shell',
  }
}

/**
 * Runs psql with the terminal handed over; resolves to its exit code. Ctrl-C reaches every process
 * on the terminal: psql takes it to cancel the running query and goes on, so this process ignores
 * it (and SIGQUIT) meanwhile, as a shell does for the program it waits on. Ended by Node's default
 * instead, it took the session with it, and with the embedded database the socket psql talked to.
 */
export function runPsql(args: string[], env: Record<string, string>, psql = 'psql', cwd?: string): Promise<number> {
  const ignore = () => undefined
  for (const signal of TERMINAL_SIGNALS) process.on(signal, ignore)
  return new Promise<number>((resolve, reject) => {
    const child = spawn(psql, args, { stdio: 'inherit', env: { ...process.env, ...env }, cwd })
    child.once('error', (error: NodeJS.ErrnoException) => {
      reject(
        error.code === 'ENOENT'
          ? new CliError(`psql is not installed (or not on PATH): install the PostgreSQL client (Debian/Ubuntu: apt install postgresql-client; macOS: brew install libpq) and try again.`)
          : error,
      )
    })
    child.once('exit', (code, signal) => resolve(code ?? (signal ? 1 : 0)))
  }).finally(() => {
    for (const signal of TERMINAL_SIGNALS) process.off(signal, ignore)
  })
}

const TERMINAL_SIGNALS = ['SIGINT', 'SIGQUIT'] as const
