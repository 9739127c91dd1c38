import { randomBytes } from 'node:crypto'
import { sql } from 'drizzle-orm'
import pino from 'pino'
import { afterEach, describe, expect, it, vi } from 'vitest'
import { AUTH, type TestApp } from '../../test/helpers/app.js'
import { eventually, startedAppForTest } from '../../test/helpers/apps.js'
import { rowsOf } from './results.js'
import { CHECKPOINT_WAL_BYTES, EmbeddedMaintenance, type MaintenanceClient, type MaintenanceRun } from './pglite-maintenance.js'

const silent = pino({ level: 'silent' })

/** The app's own embedded database, as the maintenance sees it. */
function clientOf(t: TestApp): MaintenanceClient {
  const db = t.app.getDb()
  return {
    query: async <T>(text: string) => ({ rows: rowsOf(await db.execute(sql.raw(text))) as T[] }),
    exec: (text: string) => db.execute(sql.raw(text)),
    closed: false,
  }
}

/** Overwrites one key `times` times with a value of ~100 KB that does not compress (stored out of line, in TOAST). */
async function overwrite(t: TestApp, times: number): Promise<void> {
  for (let i = 0; i < times; i++) {
    const res = await t.app.inject({ method: 'PUT', url: '/api/kv/churn', headers: AUTH, payload: { value: randomBytes(75_000).toString('base64') } })
    expect(res.statusCode).toBe(200)
  }
}

async function kvBytes(t: TestApp): Promise<number> {
  const [row] = rowsOf<{ bytes: string }>(await t.app.getDb().execute(sql`select pg_total_relation_size('kv_entries') as bytes`))
  return Number(row!.bytes)
}

describe('autovacuum for the embedded database', () => {
  it('vacuums a table whose dead rows pass autovacuum\'s threshold, its TOAST table counted for it, and the table stops growing', async () => {
    const t = await startedAppForTest({ PGLITE_MAINTENANCE_INTERVAL_S: '0' }, { seedPglite: true })
    const maintenance = new EmbeddedMaintenance(clientOf(t), 0, silent)
    await maintenance.runOnce()
    const start = await kvBytes(t)
    // 39 dead rows: under autovacuum's threshold of 50 for kv_entries itself; their ~2,000 dead
    // TOAST chunks are what makes it due.
    await overwrite(t, 40)
    const grown = (await kvBytes(t)) - start
    expect(grown).toBeGreaterThan(3_000_000)
    const runs = await maintenance.runOnce()
    expect(runs).toContainEqual(expect.objectContaining({ table: 'kv_entries', statement: expect.stringMatching(/^vacuum/) }))
    // Their space is free again: the same churn takes it instead of growing the table.
    const before = await kvBytes(t)
    await overwrite(t, 40)
    expect((await kvBytes(t)) - before).toBeLessThan(grown / 4)
  })

  it('analyzes a table that only grew, and leaves alone those nothing changed', async () => {
    const t = await startedAppForTest({ PGLITE_MAINTENANCE_INTERVAL_S: '0' }, { seedPglite: true })
    const maintenance = new EmbeddedMaintenance(clientOf(t), 0, silent)
    await maintenance.runOnce()
    const tables = (runs: MaintenanceRun[]) => runs.filter((run) => run.table !== null)
    expect(tables(await maintenance.runOnce())).toEqual([])
    for (let i = 0; i < 80; i++) expect((await t.app.inject({ method: 'PUT', url: `/api/kv/key-${i}`, headers: AUTH, payload: { value: i } })).statusCode).toBe(200)
    expect(await maintenance.runOnce()).toContainEqual(expect.objectContaining({ table: 'kv_entries', statement: 'analyze' }))
    const [stats] = rowsOf<{ last_analyze: string | null; last_vacuum: string | null }>(
      await t.app.getDb().execute(sql`select last_analyze, last_vacuum from pg_stat_all_tables where relname = 'kv_entries'`),
    )
    expect(stats!.last_analyze).not.toBeNull()
  })

  it('runs by itself every PGLITE_MAINTENANCE_INTERVAL_S once the server serves', async () => {
    const t = await startedAppForTest({ PGLITE_MAINTENANCE_INTERVAL_S: '1' }, { seedPglite: true })
    await overwrite(t, 60)
    await eventually(
      'a VACUUM of kv_entries by the server',
      async () => rowsOf<{ last_vacuum: string | null }>(await t.app.getDb().execute(sql`select last_vacuum from pg_stat_all_tables where relname = 'kv_entries'`))[0],
      (row) => row?.last_vacuum != null,
    )
  })
})

describe('checkpoints for the embedded database', () => {
  it('checkpoints once 64 MB of WAL were written since the last checkpoint, and not again until more is', async () => {
    const t = await startedAppForTest({ PGLITE_MAINTENANCE_INTERVAL_S: '0' }, { seedPglite: true })
    const maintenance = new EmbeddedMaintenance(clientOf(t), 0, silent)
    const walSinceCheckpoint = async () =>
      Number(rowsOf<{ bytes: string }>(await t.app.getDb().execute(sql`select pg_current_wal_insert_lsn() - redo_lsn as bytes from pg_control_checkpoint()`))[0]!.bytes)
    // Whatever is due already (a checkpoint too, once the seeded copy's is older than checkpoint_timeout).
    await maintenance.runOnce()
    for (let i = 0; i < 20 && (await walSinceCheckpoint()) < CHECKPOINT_WAL_BYTES; i++) await overwrite(t, 50)
    expect(await walSinceCheckpoint()).toBeGreaterThanOrEqual(CHECKPOINT_WAL_BYTES)
    expect(await maintenance.runOnce()).toContainEqual(expect.objectContaining({ table: null, statement: 'checkpoint' }))
    // What a killed server would replay now: the pass's own last statements at most.
    expect(await walSinceCheckpoint()).toBeLessThan(1024 * 1024)
    // And what pg_wal keeps: the segment in use (16 MB) and at most one more, not the 64 MB just
    // written, recycled for later (every backup would carry them).
    const [wal] = rowsOf<{ bytes: string; files: number }>(await t.app.getDb().execute(sql`select sum(size) as bytes, count(*)::int as files from pg_ls_waldir()`))
    expect(Number(wal!.bytes), `${wal!.files} WAL segments`).toBeLessThanOrEqual(2 * 16 * 1024 * 1024)
    expect((await maintenance.runOnce()).map((run) => run.statement)).not.toContain('checkpoint')
  })
})

describe('EmbeddedMaintenance', () => {
  afterEach(() => {
    vi.useRealTimers()
  })

  const due = [
    { name: 'public.a', vacuum: true, analyze: false },
    { name: 'public.b', vacuum: true, analyze: true },
    { name: 'public.c', vacuum: false, analyze: true },
  ]

  it('gives each table due its own statement, and logs one that fails and goes on', async () => {
    const executed: string[] = []
    const client: MaintenanceClient = {
      query: async <T>(text: string) => ({ rows: (text.includes('pg_control_checkpoint') ? [{ wal_bytes: 0, timed_out: true }] : due) as T[] }),
      exec: async (text) => {
        executed.push(text)
        if (text.includes('public.a')) throw new Error('could not open file "base/5/16400": Permission denied')
      },
      closed: false,
    }
    const warnings: string[] = []
    const log = pino({ level: 'warn' }, { write: (line: string) => void warnings.push(JSON.parse(line).msg) })
    const runs = await new EmbeddedMaintenance(client, 0, log).runOnce()
    expect(executed).toEqual(['select pg_stat_force_next_flush()', 'vacuum public.a', 'vacuum (analyze) public.b', 'analyze public.c'])
    expect(runs.map((run) => [run.table, run.statement])).toEqual([
      ['public.b', 'vacuum analyze'],
      ['public.c', 'analyze'],
    ])
    expect(warnings).toEqual(['vacuum of public.a in the embedded database failed: could not open file "base/5/16400": Permission denied; the next pass tries again'])
  })

  it('checkpoints after 64 MB of WAL, or after checkpoint_timeout once anything was written; logs one that fails', async () => {
    const pass = async (since: { wal_bytes: number; timed_out: boolean }, fail = false) => {
      const executed: string[] = []
      const warnings: string[] = []
      const client: MaintenanceClient = {
        query: async <T>(text: string) => ({ rows: (text.includes('pg_control_checkpoint') ? [since] : []) as T[] }),
        exec: async (text) => {
          executed.push(text)
          if (fail && text === 'checkpoint') throw new Error('could not fsync file "base/5/16447": Input/output error')
        },
        closed: false,
      }
      const runs = await new EmbeddedMaintenance(client, 0, pino({ level: 'warn' }, { write: (line: string) => void warnings.push(JSON.parse(line).msg) })).runOnce()
      return { checkpointed: executed.includes('checkpoint'), runs, warnings }
    }
    expect((await pass({ wal_bytes: CHECKPOINT_WAL_BYTES, timed_out: false })).checkpointed).toBe(true)
    expect((await pass({ wal_bytes: CHECKPOINT_WAL_BYTES - 1, timed_out: false })).checkpointed).toBe(false)
    expect((await pass({ wal_bytes: 5_000, timed_out: true })).checkpointed).toBe(true)
    // Only the last checkpoint's own record since: nothing to write down.
    expect((await pass({ wal_bytes: 104, timed_out: true })).checkpointed).toBe(false)
    const failed = await pass({ wal_bytes: CHECKPOINT_WAL_BYTES, timed_out: false }, true)
    expect(failed.runs).toEqual([])
    expect(failed.warnings).toEqual(['a checkpoint of the embedded database failed: could not fsync file "base/5/16447": Input/output error; the next pass tries again'])
  })

  it('never runs with an interval of 0', async () => {
    vi.useFakeTimers()
    const query = vi.fn(async (_text: string) => ({ rows: [] as never[] }))
    new EmbeddedMaintenance({ query, exec: vi.fn(async () => undefined), closed: false }, 0, silent).start()
    await vi.advanceTimersByTimeAsync(3_600_000)
    expect(query).not.toHaveBeenCalled()
  })

  it('runs a pass every interval, one at a time; stop() waits for the pass under way and no other starts', async () => {
    vi.useFakeTimers()
    let release = () => {}
    const exec = vi.fn((text: string) => (text.startsWith('vacuum') ? new Promise<void>((resolve) => (release = resolve)) : Promise.resolve()))
    const query = vi.fn(async (_text: string) => ({ rows: [due[0]] as never[] }))
    const maintenance = new EmbeddedMaintenance({ query, exec, closed: false }, 60_000, silent)
    maintenance.start()
    await vi.advanceTimersByTimeAsync(59_999)
    expect(query).toHaveBeenCalledTimes(0)
    await vi.advanceTimersByTimeAsync(1)
    expect(exec).toHaveBeenLastCalledWith('vacuum public.a')
    // The pass is still under way: no second one starts, however long it takes.
    await vi.advanceTimersByTimeAsync(300_000)
    expect(query).toHaveBeenCalledTimes(1)
    let stopped = false
    const stopping = maintenance.stop().then(() => (stopped = true))
    await vi.advanceTimersByTimeAsync(0)
    expect(stopped).toBe(false)
    release()
    await stopping
    await vi.advanceTimersByTimeAsync(600_000)
    expect(query).toHaveBeenCalledTimes(1)
  })
})
