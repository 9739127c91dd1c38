import { sql } from 'drizzle-orm'
import { afterAll, beforeAll, expect, it } from 'vitest'
import { KINDS, openTestConnection, type TestConnection } from '../../test/helpers/connections.js'
import { describeOnKind, describePostgres } from '../../test/helpers/app.js'
import { adminQuery } from '../../test/helpers/postgres.js'

async function until<T>(probe: () => T, ok: (value: T) => boolean, ms = 10_000): Promise<T> {
  const deadline = Date.now() + ms
  for (;;) {
    const value = probe()
    if (ok(value)) return value
    if (Date.now() > deadline) throw new Error(`condition not met in ${ms} ms; last value: ${JSON.stringify(value)}`)
    await new Promise((resolve) => setTimeout(resolve, 25))
  }
}

for (const kind of KINDS) {
  describeOnKind(kind)(`LISTEN/NOTIFY on ${kind}`, () => {
    let t: TestConnection
    beforeAll(async () => {
      t = await openTestConnection(kind)
    })
    afterAll(() => t.close())

    it('delivers a notification sent in a committed transaction, and none from a rolled-back one', async () => {
      const received: (string | null)[] = []
      const unlisten = await t.connection.listen('settings_changed', (payload) => received.push(payload))
      await t.connection.db
        .transaction(async (tx) => {
          await tx.execute(sql`select pg_notify('settings_changed', 'never')`)
          throw new Error('roll back')
        })
        .catch(() => undefined)
      await t.connection.db.transaction(async (tx) => {
        await tx.execute(sql`select pg_notify('settings_changed', 'smtp.host')`)
      })
      await until(() => received, (r) => r.length > 0)
      await new Promise((resolve) => setTimeout(resolve, 100))
      expect(received).toEqual(['smtp.host'])
      await unlisten()
      await t.connection.db.execute(sql`select pg_notify('settings_changed', 'after unlisten')`)
      await new Promise((resolve) => setTimeout(resolve, 100))
      expect(received).toEqual(['smtp.host'])
    })

    it('refuses a channel name that is not a plain identifier', async () => {
      await expect(t.connection.listen('bad"; drop table x; --', () => undefined)).rejects.toThrow(/must be 1–63 characters of a-z, 0-9 and _/)
    })
  })
}

describePostgres('LISTEN on PostgreSQL after the listening connection drops', () => {
  let t: TestConnection
  beforeAll(async () => {
    t = await openTestConnection('postgresql')
  })
  afterAll(() => t.close())

  it('reconnects, tells the handler it may have missed notifications (null), and delivers again', async () => {
    const received: (string | null)[] = []
    await t.connection.listen('kv_changed', (payload) => received.push(payload))
    await adminQuery(`select pg_terminate_backend(pid) from pg_stat_activity where datname = '${t.databaseName}' and query like 'LISTEN %'`)
    await until(() => received, (r) => r.includes(null))
    await t.connection.db.execute(sql`select pg_notify('kv_changed', 'again')`)
    await until(() => received, (r) => r.includes('again'))
    expect(received).toEqual([null, 'again'])
  })
})
