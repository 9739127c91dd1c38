import { randomBytes } from 'node:crypto'
import { onTestFinished } from 'vitest'
import type { TestApp } from './app.js'
import { startedAppForTest } from './apps.js'
import { adminQuery, createTestDatabase, type TestDatabase } from './postgres.js'
import { startTcpProxy, type TcpProxy } from './tcp-proxy.js'

/*
 * The helpers that need the PostgreSQL test server, apart from apps.ts: the postgres-18 project
 * runs the test files that reach test/helpers/postgres.ts through their imports
 * (postgres-files.ts), so a file that only builds embedded apps does not run there twice.
 */

/** A throwaway database on the test server, dropped when the test ends. */
export async function databaseForTest(): Promise<TestDatabase> {
  const database = await createTestDatabase()
  onTestFinished(() => database.drop())
  return database
}

/**
 * A throwaway database owned by a new login role without CREATEROLE (`<prefix>_<hex>`), as an
 * installation whose user may create tables but not roles. Both are dropped when the test ends.
 */
export async function databaseOfPlainUser(prefix: string): Promise<{ database: TestDatabase; user: string }> {
  const user = `${prefix}_${randomBytes(4).toString('hex')}`
  const database = await createTestDatabase()
  await adminQuery(`create role ${user} login nocreaterole`)
  onTestFinished(() => adminQuery(`drop role if exists ${user}`))
  // Dropped before the role (onTestFinished runs in reverse order): the database it owns goes first.
  onTestFinished(() => database.drop())
  await adminQuery(`alter database "${database.name}" owner to ${user}`)
  return { database, user }
}

/**
 * A started app on a throwaway PostgreSQL database reached through a proxy, so a test can take
 * the server away (cut or freeze the proxy) and give it back. Everything is removed when the test ends.
 */
export async function postgresAppBehindProxy(): Promise<{ t: TestApp; proxy: TcpProxy }> {
  const db = await databaseForTest()
  const proxy = await startTcpProxy(db.env.POSTGRES_HOST!, Number(db.env.POSTGRES_PORT))
  onTestFinished(() => proxy.close())
  const t = await startedAppForTest({ ...db.env, POSTGRES_HOST: '127.0.0.1', POSTGRES_PORT: String(proxy.port), DB_TYPE: 'postgresql' })
  return { t, proxy }
}
