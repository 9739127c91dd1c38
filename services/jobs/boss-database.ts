import { PGlite } from '@electric-sql/pglite'
import { sql } from 'drizzle-orm'
import { fromDrizzle, fromPglite, type Db, type DrizzleSqlTagLike, type DrizzleTransactionLike } from 'pg-boss'
import type pg from 'pg'
import type { Database, Transaction } from '../database/connection.js'
import type { NotificationHandler } from '../database/pg-listener.js'

export type Listen = (channel: string, handler: NotificationHandler) => Promise<() => Promise<void>>

/**
 * pg-boss on the connection the database service owns, instead of a pool of its own: PGlite has
 * one connection anyway, and on PostgreSQL the shared pool keeps one set of credentials, one
 * connection budget and one close. Its queries go through the client's guarded entry points, so a
 * pg-boss query from inside a transaction the caller did not pass fails with transaction_misuse
 * rather than hanging (PGlite) or escaping the transaction (PostgreSQL). Notifications come
 * through the database service's listener, which reconnects by itself.
 */
export function bossDatabase(db: Database, listen: Listen): { db: Db; backend: 'pglite' | 'postgres' } {
  const client = (db as unknown as { $client: unknown }).$client
  const base: Db =
    client instanceof PGlite
      ? fromPglite(client)
      : {
          // No values: pg sends the text as a simple query, which may hold several statements (pg-boss's DDL).
          executeSql: (text, values) => (client as pg.Pool).query(text, values) as Promise<{ rows: unknown[] }> as Promise<{ rows: never[] }>,
        }
  const adapter: Db = {
    ...base,
    async listen(channel, onNotification, onReconnect) {
      const unlisten = await listen(channel, (payload) => (payload === null ? onReconnect() : onNotification(payload)))
      // pg-boss fetches once after subscribing, for jobs sent before the listener was there.
      onReconnect()
      return { close: unlisten }
    },
  }
  return { db: adapter, backend: client instanceof PGlite ? 'pglite' : 'postgres' }
}

/** The caller's transaction as pg-boss's `db` option: what pg-boss writes through it commits or rolls back with it. */
export function transactionDatabase(tx: Transaction): Db {
  return fromDrizzle(tx as unknown as DrizzleTransactionLike, sql as unknown as DrizzleSqlTagLike)
}
