import { sql } from 'drizzle-orm'
import { pgTable, text } from 'drizzle-orm/pg-core'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { describePostgres } from '../../test/helpers/app.js'
import { eventually, startedAppForTest } from '../../test/helpers/apps.js'
import { closedPort } from '../../test/helpers/network.js'
import { startPrivateCluster, type PrivateCluster, type PrivateReplica } from '../../test/helpers/private-cluster.js'
import type { Database } from './connection.js'
import { rowsOf } from './results.js'
import { instance } from './schema.js'

// A real streaming replica (pg_basebackup -R of a private cluster), not a second primary: only a
// standby answers pg_is_in_recovery() with true, which is how these tests tell where a read ran.
let cluster: PrivateCluster
let replica: PrivateReplica
let database: string

const probeTable = pgTable('replica_probe', { v: text('v') })

const replicaUrl = (port: number) => `postgresql://${cluster.user}:${cluster.password}@127.0.0.1:${port}/${database}`

async function appWithReplicas(readUrls: string[]) {
  return startedAppForTest({
    DB_TYPE: 'postgresql',
    POSTGRES_HOST: '127.0.0.1',
    POSTGRES_PORT: String(cluster.port),
    POSTGRES_USER: cluster.user,
    POSTGRES_PASSWORD: cluster.password,
    POSTGRES_DATABASE: database,
    POSTGRES_READ_URLS: readUrls.join(','),
  })
}

/** Where a select through `db` ran: true on a standby, false on the primary. */
async function servedByStandby(db: Database): Promise<boolean> {
  const [row] = await db.select({ inRecovery: sql<boolean>`pg_is_in_recovery()` }).from(instance)
  if (!row) throw new Error('the instance table has no row: the database was not set up')
  return row.inRecovery
}

const statusOf = async (t: Awaited<ReturnType<typeof appWithReplicas>>) => (await t.app.inject({ method: 'GET', url: '/api/db/status' })).json()

describePostgres('read replicas (POSTGRES_READ_URLS)', () => {
  beforeAll(async () => {
    cluster = await startPrivateCluster()
    database = await cluster.createDatabase()
    replica = await cluster.startReplica()
  })
  afterAll(() => cluster?.stop())

  it('serves lag-tolerant selects from the replica and everything else from the primary', async () => {
    const t = await appWithReplicas([replicaUrl(replica.port)])
    const status = await statusOf(t)
    expect(status.phase).toBe('ready')
    expect(status.replicas).toEqual([{ url: `postgresql://postgres:****@127.0.0.1:${replica.port}/${database}`, state: 'up', lag_seconds: expect.any(Number), error: null, since: expect.any(String) }])

    // The instance row was written by the migrations on the primary: that the replica has it proves replication.
    expect(await eventually('the instance row reaching the replica', () => servedByStandby(t.app.getReadDb()).catch(() => null), (served) => served === true)).toBe(true)
    expect(await servedByStandby(t.app.getDb())).toBe(false)

    const readDb = t.app.getReadDb()
    // A standby refuses every write ("cannot execute … in a read-only transaction"): these succeed only on the primary.
    await readDb.execute(sql`create table replica_probe (v text)`)
    await readDb.insert(probeTable).values({ v: 'written through the read executor' })
    expect(rowsOf(await readDb.execute(sql`select pg_is_in_recovery() as r`))[0]).toEqual({ r: false })
    expect(await readDb.transaction(async (tx) => servedByStandby(tx))).toBe(false)

    const rows = await eventually('the write reaching the replica', () => readDb.select().from(probeTable).catch(() => []), (found) => found.length === 1)
    expect(rows).toEqual([{ v: 'written through the read executor' }])
  })

  it('skips a replica that stops, reads on the primary meanwhile, says so in the status, and takes it back', async () => {
    const t = await appWithReplicas([replicaUrl(replica.port)])
    await eventually('the replica serving reads', () => servedByStandby(t.app.getReadDb()).catch(() => null), (served) => served === true)

    await replica.stop()
    try {
      // The first read may still pick the replica, which the pool does not yet know is gone: it reruns on the primary.
      for (let i = 0; i < 3; i++) expect(await servedByStandby(t.app.getReadDb())).toBe(false)
      const down = await eventually('the status saying the replica is down', () => statusOf(t), (s) => s.replicas[0]?.state === 'down')
      expect(down.replicas[0]).toMatchObject({ state: 'down', lag_seconds: null, error: expect.any(String) })
      expect(down.phase).toBe('ready')
      expect((await t.app.inject({ method: 'GET', url: '/ready' })).statusCode).toBe(200)
    } finally {
      await replica.start()
    }

    const up = await eventually('the status saying the replica is up again', () => statusOf(t), (s) => s.replicas[0]?.state === 'up')
    expect(up.replicas[0]).toMatchObject({ state: 'up', error: null })
    expect(await servedByStandby(t.app.getReadDb())).toBe(true)

    const logs = t.logs.join('')
    expect(logs.match(/read replica \S+ is down/g)).toHaveLength(1)
    expect(logs.match(/read replica \S+ answers again/g)).toHaveLength(1)
    expect(logs).not.toContain(cluster.password)
    expect(JSON.stringify(up)).not.toContain(cluster.password)
  })

  it('reruns on the primary a read whose replica connection dies mid-query, and marks the replica down at once', async () => {
    const t = await appWithReplicas([replicaUrl(replica.port)])
    await eventually('the replica serving reads', () => servedByStandby(t.app.getReadDb()).catch(() => null), (served) => served === true)

    // Sleeps on the standby only, so the test can end its connection mid-query; the primary answers at once.
    const read = t.app
      .getReadDb()
      .select({ inRecovery: sql<boolean>`pg_is_in_recovery()`, slept: sql`case when pg_is_in_recovery() then pg_sleep(600) end` })
      .from(instance)
    const sleeping = `select pid from pg_stat_activity where query like '%pg_sleep(600)%' and pid <> pg_backend_pid()`
    const answer = read.then((rows) => rows[0]?.inRecovery)
    await eventually('the read running on the replica', () => replica.query(sleeping, database), (rows) => rows.length === 1)
    await replica.query(`select pg_terminate_backend(pid) from (${sleeping}) sleeping`, database)

    expect(await answer).toBe(false)
    expect(t.logs.join('')).toMatch(/read replica \S+ is down \(terminating connection due to administrator command \(57P01\)\)/)
    expect(t.logs.join('')).toContain('runs again on the primary')
  })

  it('starts with a replica that never answers: ready, reading on the primary, the replica listed as down', async () => {
    const nowhere = await closedPort()
    const t = await appWithReplicas([replicaUrl(nowhere), replicaUrl(replica.port)])
    const status = await statusOf(t)
    expect(status.phase).toBe('ready')
    expect(status.replicas.map((r: { state: string }) => r.state)).toEqual(['down', 'up'])
    expect(status.replicas[0].error).toMatch(/ECONNREFUSED/)
    // Only the replica that is up is chosen, so every lag-tolerant read lands there.
    for (let i = 0; i < 5; i++) expect(await servedByStandby(t.app.getReadDb())).toBe(true)
    expect((await t.app.inject({ method: 'GET', url: '/ready' })).statusCode).toBe(200)
  })

  it('closes the replicas\' connections with the app', async () => {
    const t = await appWithReplicas([replicaUrl(replica.port)])
    await eventually('the replica serving reads', () => servedByStandby(t.app.getReadDb()).catch(() => null), (served) => served === true)
    const backends = `select pid from pg_stat_activity where datname = '${database}' and application_name = 'groundwork'`
    expect((await replica.query(backends, database)).length).toBeGreaterThan(0)
    await t.app.database.close()
    // A backend leaves pg_stat_activity a moment after its client hangs up.
    expect(await eventually("the app's replica connections to end", () => replica.query(backends, database), (rows) => rows.length === 0)).toEqual([])
  })

  it('refuses a read on the read executor inside a transaction, which could not see its writes', async () => {
    const t = await appWithReplicas([replicaUrl(replica.port)])
    const attempt = t.app.getDb().transaction(async () => servedByStandby(t.app.getReadDb()))
    await expect(attempt).rejects.toMatchObject({ code: 'transaction_misuse' })
  })
})

describe('POSTGRES_READ_URLS on PGlite', () => {
  it('is ignored with a warning: no replicas in the status, reads on the embedded database', async () => {
    const t = await startedAppForTest({ POSTGRES_READ_URLS: 'postgresql://reader:hunter2-secret@replica:5432/app' }, { seedPglite: true })
    expect(t.app.getReadDb()).toBe(t.app.getDb())
    const status = (await t.app.inject({ method: 'GET', url: '/api/db/status' })).json()
    expect(status).toMatchObject({ type: 'pglite', phase: 'ready', replicas: [] })
    expect(t.logs.join('')).toContain('POSTGRES_READ_URLS is set, but the embedded database (pglite) has no replicas')
    expect(t.logs.join('')).not.toContain('hunter2-secret')
  })
})
