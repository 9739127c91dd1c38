import { randomBytes } from 'node:crypto'
import { setTimeout as sleep } from 'node:timers/promises'
import { onTestFinished } from 'vitest'
import type { DatabaseType } from '../../services/core/config.js'
import { AUTH, buildTestApp, type TestApp } from './app.js'
import { adminQuery, createTestDatabase, type TestDatabase } from './postgres.js'
import { startTcpProxy, type TcpProxy } from './tcp-proxy.js'

/** buildTestApp inside a test: closed (and its temp folder removed) when the test ends, passed or failed. */
export async function appForTest(...args: Parameters<typeof buildTestApp>): Promise<TestApp> {
  const t = await buildTestApp(...args)
  onTestFinished(() => t.close())
  return t
}

/** appForTest, then ready: the first connection attempt (if a database is chosen) has ended. */
export async function startedAppForTest(...args: Parameters<typeof buildTestApp>): Promise<TestApp> {
  const t = await appForTest(...args)
  await t.ready()
  return t
}

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

/** POST /api/db/setup with the admin token, as the wizard sends it. */
export function postSetup(t: TestApp, type: DatabaseType | string) {
  return t.app.inject({ method: 'POST', url: '/api/db/setup', headers: AUTH, payload: { type } })
}

/** Polls `probe` until `ok` holds; fails saying what never happened and the last value seen. */
export async function eventually<T>(what: string, probe: () => T | Promise<T>, ok: (value: T) => boolean, deadlineMs = 20_000): Promise<T> {
  const deadline = Date.now() + deadlineMs
  for (;;) {
    const value = await probe()
    if (ok(value)) return value
    if (Date.now() > deadline) throw new Error(`${what} did not happen within ${deadlineMs} ms; last seen: ${JSON.stringify(value)?.slice(0, 2000)}`)
    await sleep(50)
  }
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
