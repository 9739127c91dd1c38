import { afterAll, beforeAll, expect } from 'vitest'
import type { Config, DatabaseType } from '../../services/core/config.js'
import { buildTestApp, describeOnKind, type TestApp } from './app.js'
import { createTestDatabase, type TestDatabase } from './postgres.js'

export const DATABASE_KINDS: DatabaseType[] = ['pglite', 'postgresql']

/**
 * Runs `body` once per database kind against one ready app: PGlite (a seeded copy; in the default
 * project only) and a throwaway PostgreSQL database (skipped loudly without a server). `app()` is
 * valid inside tests.
 */
export function describeEachKind(title: string, body: (kind: DatabaseType, app: () => TestApp) => void, env: Record<string, string> = {}, options: { config?: Partial<Config> } = {}): void {
  for (const kind of DATABASE_KINDS) {
    describeOnKind(kind)(`${title} (${kind})`, () => {
      let t: TestApp | undefined
      let database: TestDatabase | undefined
      beforeAll(async () => {
        if (kind === 'postgresql') {
          database = await createTestDatabase()
          t = await buildTestApp({ ...database.env, DB_TYPE: 'postgresql', ...env }, options)
        } else {
          t = await buildTestApp(env, { ...options, seedPglite: true })
        }
        await t.ready()
        expect(t.app.database.status()).toMatchObject({ phase: 'ready', type: kind })
      })
      afterAll(async () => {
        await t?.close()
        await database?.drop()
      })
      body(kind, () => {
        if (!t) throw new Error('The test app is not ready: use app() inside a test or hook')
        return t
      })
    })
  }
}
