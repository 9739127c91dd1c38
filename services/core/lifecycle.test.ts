import pino from 'pino'
import { sql } from 'drizzle-orm'
import { afterEach, describe, expect, it } from 'vitest'
import { buildTestApp, type TestApp } from '../../test/helpers/app.js'
import type { Database } from '../database/connection.js'
import { rowsOf } from '../database/results.js'
import { Lifecycle, type ManagedService } from './lifecycle.js'

// The lifecycle only hands the database on; these tests check order and retries, not queries.
const db = { marker: 'the database' } as unknown as Database

function recorder() {
  const events: string[] = []
  const service = (name: string, extra: Partial<ManagedService> = {}): ManagedService => ({
    name,
    start: async (given) => {
      expect(given).toBe(db)
      events.push(`start ${name}`)
    },
    stop: async () => {
      events.push(`stop ${name}`)
    },
    ...extra,
  })
  return { events, service }
}

async function until(check: () => boolean, ms = 5_000): Promise<void> {
  const deadline = Date.now() + ms
  while (!check()) {
    if (Date.now() > deadline) throw new Error('condition not met in time')
    await new Promise((resolve) => setTimeout(resolve, 20))
  }
}

describe('the service lifecycle', () => {
  const lifecycles: Lifecycle[] = []
  const make = () => {
    const lifecycle = new Lifecycle(pino({ level: 'silent' }))
    lifecycles.push(lifecycle)
    return lifecycle
  }
  afterEach(async () => {
    await Promise.all(lifecycles.splice(0).map((l) => l.stopAll()))
  })

  it('starts services in dependency order whatever the registration order, and stops them in reverse', async () => {
    const lifecycle = make()
    const { events, service } = recorder()
    lifecycle.register(service('jobs', { dependencies: ['settings'] }))
    lifecycle.register(service('mailer', { dependencies: ['jobs', 'settings'] }))
    lifecycle.register(service('settings'))
    expect(await lifecycle.databaseReady(db)).toEqual([])
    await lifecycle.stopAll()
    expect(events).toEqual(['start settings', 'start jobs', 'start mailer', 'stop mailer', 'stop jobs', 'stop settings'])
  })

  it('starts a service registered after the database became ready, at once', async () => {
    const lifecycle = make()
    const { events, service } = recorder()
    await lifecycle.databaseReady(db)
    lifecycle.register(service('late'))
    await until(() => events.includes('start late'))
    expect(lifecycle.status()).toEqual([{ name: 'late', state: 'running', ok: true, error: null, problems: [] }])
  })

  it('reports a failed start, keeps its dependents waiting, retries with backoff, then starts them', async () => {
    const lifecycle = make()
    const { events, service } = recorder()
    let attempts = 0
    lifecycle.register(
      service('search', {
        start: async () => {
          attempts += 1
          if (attempts === 1) throw new Error('index folder is read-only')
          events.push('start search')
        },
      }),
    )
    lifecycle.register(service('suggest', { dependencies: ['search'] }))
    expect(await lifecycle.databaseReady(db)).toEqual(['search', 'suggest'])
    expect(lifecycle.status()).toEqual([
      { name: 'search', state: 'failed', ok: false, error: 'index folder is read-only', problems: [] },
      { name: 'suggest', state: 'waiting', ok: false, error: 'waiting for search to start', problems: [] },
    ])
    await until(() => events.includes('start suggest'))
    expect(events).toEqual(['start search', 'start suggest'])
    expect(lifecycle.status().every((s) => s.state === 'running' && s.ok)).toBe(true)
  })

  it('names a dependency nobody registered', async () => {
    const lifecycle = make()
    const { service } = recorder()
    lifecycle.register(service('reports', { dependencies: ['warehouse'] }))
    await lifecycle.databaseReady(db)
    expect(lifecycle.status()[0]).toMatchObject({ state: 'waiting', error: 'waiting for warehouse (not registered) to start' })
  })

  it('stops every started service even when one fails to stop, and starts nothing after stopping', async () => {
    const lifecycle = make()
    const { events, service } = recorder()
    lifecycle.register(service('a'))
    lifecycle.register(service('b', { stop: async () => Promise.reject(new Error('stuck')) }))
    lifecycle.register(service('c', { start: async () => Promise.reject(new Error('never up')) }))
    await lifecycle.databaseReady(db)
    await lifecycle.stopAll()
    expect(events).toEqual(['start a', 'start b', 'stop a'])
    expect(() => lifecycle.register(service('d'))).toThrow(/registered while the app is closing/)
    await new Promise((resolve) => setTimeout(resolve, 1_200))
    expect(lifecycle.status().find((s) => s.name === 'c')?.state).toBe('failed')
  })

  it('refuses two services with one name and dependencies in a circle', () => {
    const lifecycle = make()
    const { service } = recorder()
    lifecycle.register(service('a', { dependencies: ['b'] }))
    expect(() => lifecycle.register(service('a'))).toThrow(/registered twice/)
    expect(() => lifecycle.register(service('b', { dependencies: ['a'] }))).toThrow(/in a circle: a → b → a|in a circle: b → a → b/)
  })

  it('shows a running service\'s problems in its status, and marks it not ok', async () => {
    const lifecycle = make()
    const { service } = recorder()
    lifecycle.register(service('settings', { problems: () => ['the encryption key does not match'] }))
    await lifecycle.databaseReady(db)
    expect(lifecycle.status()).toEqual([{ name: 'settings', state: 'running', ok: false, error: null, problems: ['the encryption key does not match'] }])
  })
})

describe('the lifecycle in the app', () => {
  let t: TestApp | undefined
  afterEach(() => t?.close())

  it('starts services at startup on an existing database, and stops them while the database still answers', async () => {
    t = await buildTestApp({}, { seedPglite: true })
    const seen: string[] = []
    t.app.lifecycle.register({
      name: 'counter',
      start: async (database) => {
        seen.push(`started with ${rowsOf(await database.execute(sql`select 41 + 1 as n`)).length} row`)
      },
      stop: async () => {
        // The connection must still be open here.
        await t!.app.getDb().execute(sql`select 1`)
        seen.push('stopped with the database open')
      },
    })
    await t.ready()
    expect(t.app.database.status().services.filter((s) => s.name === 'counter')).toEqual([{ name: 'counter', state: 'running', ok: true, error: null, problems: [] }])
    await t.close()
    t = undefined
    expect(seen).toEqual(['started with 1 row', 'stopped with the database open'])
  })
})
