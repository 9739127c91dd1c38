import { PGlite } from '@electric-sql/pglite'
import type pg from 'pg'
import type { Database } from '../connection.js'
import { begin, canonical, overPglite, overPgClient, type Session } from './sessions.js'

/**
 * Runs `work` in one transaction on a database the server opened (openConnection's db): on
 * PGlite inside its own transaction(), which holds off every other query of the instance; on
 * PostgreSQL on one connection taken from the pool. Commits when `work` resolves.
 */
export async function withDatabaseSession<T>(db: Database, mode: 'write' | 'snapshot', work: (session: Session) => Promise<T>): Promise<T> {
  const client = (db as unknown as { $client: PGlite | pg.Pool }).$client
  if (client instanceof PGlite) {
    return client.transaction(async (tx) => {
      const session = overPglite(tx, client.dataDir ?? 'the embedded database', async () => undefined)
      // PGlite has one connection: its transaction is a snapshot already.
      await canonical(session)
      return work(session)
    })
  }
  const connection = await client.connect()
  const session = overPgClient(connection, 'PostgreSQL', async () => undefined)
  try {
    await begin(session, mode)
    const result = await work(session)
    await session.query('commit')
    return result
  } catch (error) {
    await session.query('rollback').catch(() => undefined)
    throw error
  } finally {
    connection.release()
  }
}
