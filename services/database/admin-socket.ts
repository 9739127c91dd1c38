import { mkdir, chmod } from 'node:fs/promises'
import { join } from 'node:path'
import type { PGlite } from '@electric-sql/pglite'
import type { Config } from '../core/config.js'
import { serveOverSocket, type WireServer } from './pglite-wire-server.js'

/** psql takes the folder as its host and finds `.s.PGSQL.<port>` in it. */
export const SOCKET_PORT = 5432

export function adminSocketPath(config: Config): { directory: string; file: string } {
  const directory = join(config.persistentDataDir, 'admin-socket')
  return { directory, file: join(directory, `.s.PGSQL.${SOCKET_PORT}`) }
}

/**
 * DB_ADMIN_SOCKET=true: the server serves the embedded database it holds to local admins (psql,
 * drizzle-kit) on a Unix socket only its own user may open (folder 0700, socket 0600).
 */
export async function serveAdminSocket(config: Config, client: PGlite): Promise<WireServer> {
  const { directory, file } = adminSocketPath(config)
  if (Buffer.byteLength(file) > 107) {
    throw new Error(`The admin socket path ${file} is longer than Unix sockets allow (107 bytes): use a shorter PERSISTENT_DATA_DIR, or unset DB_ADMIN_SOCKET.`)
  }
  await mkdir(directory, { recursive: true, mode: 0o700 })
  await chmod(directory, 0o700)
  return serveOverSocket(client, file)
}
