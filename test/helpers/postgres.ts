import { randomUUID } from 'node:crypto'
import pg from 'pg'
import { refuseInNoPostgres } from './no-postgres.js'

/** The server the PostgreSQL tests use: TEST_DATABASE_URL, else the local trust-auth server. */
export const ADMIN_URL = process.env.TEST_DATABASE_URL ?? 'postgres://postgres@127.0.0.1:5432/postgres'

export async function postgresReachable(): Promise<boolean> {
  const client = new pg.Client({ connectionString: ADMIN_URL, connectionTimeoutMillis: 3_000 })
  try {
    await client.connect()
    await client.query('select 1')
    return true
  } catch {
    return false
  } finally {
    await client.end().catch(() => undefined)
  }
}

export interface TestDatabase {
  name: string
  url: string
  /** POSTGRES_* variables pointing at this database, as a user would set them. */
  env: Record<string, string>
  query<T extends pg.QueryResultRow = pg.QueryResultRow>(text: string, values?: unknown[]): Promise<T[]>
  drop(): Promise<void>
}

/** A throwaway database on the test server, dropped by drop() (connections and all). */
export async function createTestDatabase(): Promise<TestDatabase> {
  const name = `test_${randomUUID().replace(/-/g, '')}`
  await adminQuery(`create database "${name}"`)
  const url = new URL(ADMIN_URL)
  url.pathname = `/${name}`
  const pool = new pg.Pool({ connectionString: url.toString(), max: 2 })
  pool.on('error', () => undefined)
  return {
    name,
    url: url.toString(),
    env: {
      POSTGRES_HOST: url.hostname,
      POSTGRES_PORT: url.port || '5432',
      POSTGRES_USER: decodeURIComponent(url.username),
      ...(url.password ? { POSTGRES_PASSWORD: decodeURIComponent(url.password) } : {}),
      POSTGRES_DATABASE: name,
    },
    async query(text, values) {
      refuseInNoPostgres(text)
      return (await pool.query(text, values)).rows
    },
    async drop() {
      await pool.end()
      await adminQuery(`drop database if exists "${name}" with (force)`)
    },
  }
}

export async function adminQuery(text: string): Promise<void> {
  await adminRows(text)
}

/** One statement on the test server's maintenance database, as its admin user: its rows. */
export async function adminRows<T extends pg.QueryResultRow = pg.QueryResultRow>(text: string): Promise<T[]> {
  refuseInNoPostgres(text)
  const client = new pg.Client({ connectionString: ADMIN_URL })
  await client.connect()
  try {
    return (await client.query<T>(text)).rows
  } finally {
    await client.end()
  }
}
