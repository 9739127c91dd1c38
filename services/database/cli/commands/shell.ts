import { mkdtemp, rm, stat } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { adminSocketPath, SOCKET_PORT } from '../../admin-socket.js'
import { pgliteLockPath } from '../../connection.js'
import { pgliteLockHolder } from '../../pglite-lock.js'
import { serveOverSocket } from '../../pglite-wire-server.js'
import { CliError, EXIT, type Command } from '../command.js'
import type { CliContext } from '../context.js'
import { libpqEnvironment, runPsql } from '../psql.js'

export const shell: Command = {
  name: 'shell',
  summary: 'open psql on the selected database (the embedded one through a local socket)',
  details: [
    'PostgreSQL: psql gets the connection through PG* variables (the password in PGPASSWORD).',
    'Embedded, server stopped: this process opens it and serves it to psql on a private Unix socket.',
    'Embedded, server running: psql connects to the server\'s admin socket (start it with DB_ADMIN_SOCKET=true).',
  ].join('\n'),
  options: {
    command: { type: 'string', short: 'c', valueName: 'sql', description: 'run one command and exit (psql -c)' },
    psql: { type: 'string', valueName: 'path', description: 'the psql program to run (default: psql on PATH)' },
  },
  async run(context, args) {
    const psqlArgs = typeof args.values.command === 'string' ? ['-c', args.values.command] : []
    const psql = typeof args.values.psql === 'string' ? args.values.psql : undefined
    const type = await context.selectedType()
    const code = type === 'postgresql' ? await runPsql(psqlArgs, libpqEnvironment(context.config.postgres), psql, context.userDirectory) : await embeddedShell(context, psqlArgs, psql)
    return code === 0 ? EXIT.ok : EXIT.failed
  },
}

const socketEnv = (directory: string) => ({ PGHOST: directory, PGPORT: String(SOCKET_PORT), PGUSER: 'postgres', PGDATABASE: 'postgres', PGSSLMODE: 'disable' })

async function embeddedShell(context: CliContext, psqlArgs: string[], psql: string | undefined): Promise<number> {
  const holder = await pgliteLockHolder(pgliteLockPath(context.config))
  if (holder) {
    const { directory, file } = adminSocketPath(context.config)
    if (!(await stat(file).catch(() => null))) {
      throw new CliError(`The embedded database is in use by ${holder.who}, which serves no admin socket (${file}). Restart the server with DB_ADMIN_SOCKET=true to reach it with psql, or stop it and run the shell again.`)
    }
    context.log.warn(`connected through the server's admin socket: while this psql session is inside a transaction, the server's own queries wait`)
    return runPsql(psqlArgs, socketEnv(directory), psql, context.userDirectory)
  }
  const connection = await context.openSelected()
  // A private folder under the system temp folder: short enough for a socket path, and only ours (0700).
  const directory = await mkdtemp(join(tmpdir(), 'groundwork-psql-'))
  try {
    const server = await serveOverSocket(connection.pglite!, join(directory, `.s.PGSQL.${SOCKET_PORT}`))
    try {
      return await runPsql(psqlArgs, socketEnv(directory), psql, context.userDirectory)
    } finally {
      await server.close()
    }
  } finally {
    await connection.close()
    await rm(directory, { recursive: true, force: true })
  }
}
