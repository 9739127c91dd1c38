import { Readable } from 'node:stream'
import { pipeline } from 'node:stream/promises'
import { PGlite, type Transaction } from '@electric-sql/pglite'
import { drizzle as drizzleNodePg } from 'drizzle-orm/node-postgres'
import { drizzle as drizzlePglite } from 'drizzle-orm/pglite'
import pg from 'pg'
import { from as copyFrom, to as copyTo } from 'pg-copy-streams'
import type { DatabaseType } from '../../core/config.js'
import type { Database } from '../connection.js'
import * as schema from '../../schema.js'

/**
 * One connection to one database, as the transfer uses it: plain SQL, COPY in the text format
 * (the same on PGlite and every PostgreSQL version), and BEGIN/COMMIT of its own. Everything
 * runs on that one connection, so whatever the transfer does between begin() and commit() is
 * one transaction.
 */
export interface Session {
  readonly kind: DatabaseType
  /** Where it is, for messages: host/port/database or the folder. Never secret. */
  readonly description: string
  query<T>(text: string, params?: unknown[]): Promise<T[]>
  /** Several statements in one string, without parameters (another tool's installation script). */
  exec(script: string): Promise<void>
  /** `COPY (select) TO …` in the text format: one chunk, held in memory (callers bound it). */
  copyOut(select: string): Promise<Buffer>
  /** `COPY table (columns) FROM …` in the text format. */
  copyIn(table: string, columns: string[], data: Buffer): Promise<void>
  /**
   * A Drizzle database on this same connection whose `transaction()` joins the transaction
   * begun here, so migrate() applies its migrations inside it (its advisory lock then lasts
   * until our commit).
   */
  readonly db: Database
  close(): Promise<void>
}

/**
 * The settings under which both kinds print every value the same way: checksums of row text
 * and COPY data must not depend on a session's time zone or float format. Set with SET LOCAL
 * inside each transaction, so a borrowed connection (the server's own PGlite) keeps its own.
 */
export const CANONICAL_SETTINGS = [
  `set local timezone = 'UTC'`,
  `set local datestyle = 'ISO, YMD'`,
  `set local intervalstyle = 'postgres'`,
  `set local extra_float_digits = 1`,
  `set local bytea_output = 'hex'`,
]

type PgliteQueryable = Pick<PGlite, 'query' | 'exec'> | Transaction

export async function pgliteSession(dataDir: string): Promise<Session> {
  const client = new PGlite(dataDir)
  await client.waitReady
  return overPglite(client, dataDir, async () => {
    if (!client.closed) await client.close()
  })
}

/** A session on a PGlite instance or on one of its transactions (then begin/commit are PGlite's, not ours). */
export function overPglite(client: PgliteQueryable, description: string, close: () => Promise<void>): Session {
  return {
    kind: 'pglite',
    description,
    query: async <T>(text: string, params?: unknown[]) => (await client.query<T>(text, params)).rows,
    exec: async (script) => void (await client.exec(script)),
    async copyOut(select) {
      const result = await client.query(`copy (${select}) to '/dev/blob'`)
      return result.blob ? Buffer.from(await result.blob.arrayBuffer()) : Buffer.alloc(0)
    },
    async copyIn(table, columns, data) {
      await client.query(`copy ${table} (${columns.join(', ')}) from '/dev/blob'`, [], { blob: new Blob([new Uint8Array(data)]) })
    },
    db: joinedTransactions(drizzlePglite({ client: client as PGlite, schema }) as Database),
    close,
  }
}

export async function postgresSession(settings: pg.ClientConfig, description: string): Promise<Session> {
  const client = new pg.Client(settings)
  // An error on an idle client would otherwise crash the process; the next query reports it.
  client.on('error', () => undefined)
  await client.connect()
  return overPgClient(client, description, () => client.end())
}

export function overPgClient(client: pg.ClientBase, description: string, close: () => Promise<void>): Session {
  return {
    kind: 'postgresql',
    description,
    query: async <T>(text: string, params?: unknown[]) => (await client.query(text, params)).rows as T[],
    // Without parameters pg uses the simple protocol, which runs several statements.
    exec: async (script) => void (await client.query(script)),
    async copyOut(select) {
      const chunks: Buffer[] = []
      const stream = client.query(copyTo(`copy (${select}) to stdout`))
      for await (const chunk of stream) chunks.push(chunk as Buffer)
      return Buffer.concat(chunks)
    },
    async copyIn(table, columns, data) {
      await pipeline(Readable.from([data]), client.query(copyFrom(`copy ${table} (${columns.join(', ')}) from stdin`)))
    },
    db: joinedTransactions(drizzleNodePg({ client: client as pg.Client, schema }) as Database),
    close,
  }
}

function joinedTransactions(db: Database): Database {
  const joined = Object.create(db) as Database
  Object.defineProperty(joined, 'transaction', { value: (callback: (tx: Database) => Promise<unknown>) => callback(joined) })
  return joined
}

export async function begin(session: Session, mode: 'write' | 'snapshot'): Promise<void> {
  await session.query(mode === 'write' ? 'begin' : 'begin isolation level repeatable read read only')
  await canonical(session)
}

export async function canonical(session: Session): Promise<void> {
  for (const statement of CANONICAL_SETTINGS) await session.query(statement)
}
