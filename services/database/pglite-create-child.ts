import { PGlite } from '@electric-sql/pglite'
import { drizzle } from 'drizzle-orm/pglite'
import { getConstructionPlans } from 'pg-boss'
import { BOSS_SCHEMA } from '../jobs/repository.js'
import { isServiceError } from '../core/errors.js'
import type { Database } from './connection.js'
import { migrate, readMigrations } from './migrator.js'

// Runs as a child process (see pglite-create.ts): initdb in WASM peaks near 1 GB, the first
// migrations add ~200 MB more, and PGlite never gives memory back, so a short-lived process pays.
const [dataDir, startParams, migrationsFolder] = process.argv.slice(2)
if (!dataDir || !startParams || !migrationsFolder) {
  process.stderr.write('usage: pglite-create-child <data folder> <start parameters as JSON> <migrations folder>\n')
  process.exit(2)
}
// A parent that died (killed, crashed) closes the IPC channel: stop at once rather than keep
// writing into a folder that the next server removes and rebuilds.
let finished = false
process.on('disconnect', () => {
  if (!finished) process.exit(1)
})
try {
  const files = await readMigrations(migrationsFolder)
  const client = new PGlite(dataDir, { startParams: JSON.parse(startParams) as string[] })
  try {
    await client.waitReady
    const { appliedNow } = await migrate(drizzle({ client }) as unknown as Database, files)
    // pg-boss's installation is ~18 kB of DDL: run in the server, it stalls requests for most of a second.
    await client.exec(getConstructionPlans(BOSS_SCHEMA))
    await client.close()
    await new Promise((resolve) => process.send!({ applied: appliedNow }, resolve))
    finished = true
    process.disconnect()
  } finally {
    if (!client.closed) await client.close().catch(() => undefined)
  }
} catch (error) {
  // The parent rebuilds a service error as it was, and turns a file-system code (ENOSPC, EROFS,
  // Emscripten's errno) into the right advice.
  const { message, code, errno } = (typeof error === 'object' && error !== null ? error : { message: String(error) }) as { message?: unknown; code?: unknown; errno?: unknown }
  process.send!(
    {
      failure: {
        message: typeof message === 'string' ? message : undefined,
        code: typeof code === 'string' ? code : undefined,
        errno: typeof errno === 'number' ? errno : undefined,
        service: isServiceError(error),
        details: isServiceError(error) ? error.details : undefined,
      },
    },
    () => process.exit(1),
  )
}
