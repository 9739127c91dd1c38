import { setTimeout as sleep } from 'node:timers/promises'
import { onTestFinished } from 'vitest'
import type { DatabaseType } from '../../services/core/config.js'
import { AUTH, buildTestApp, type TestApp } from './app.js'

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
