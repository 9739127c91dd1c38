/**
 * Background jobs on both kinds: send-to-start latency (one job at a time, sent outside any
 * transaction, its worker woken by LISTEN/NOTIFY rather than a poll) and throughput (a batch
 * sent in one transaction, drained by one worker with the default batch size). Run by
 * `npm run bench` (bench/lib/extras.ts); prints plain lines.
 */
import { mkdtemp, rm } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import pino from 'pino'
import { loadConfig, type DatabaseType } from '../services/core/config.js'
import { openConnection, type DatabaseConnection } from '../services/database/connection.js'
import { JobsService } from '../services/jobs/service.js'
import { createTestDatabase, postgresReachable, type TestDatabase } from '../test/helpers/postgres.js'

const quick = process.argv.includes('--quick')
const LATENCY_JOBS = quick ? 5 : 50
const BATCH = quick ? 100 : 2_000
const log = pino({ level: 'silent' })
const print = (line: string) => void process.stdout.write(`${line}\n`)
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms))
const percentile = (values: number[], p: number) => [...values].sort((a, b) => a - b)[Math.min(values.length - 1, Math.floor(values.length * p))]!

async function measure(kind: DatabaseType, connection: DatabaseConnection): Promise<string> {
  const started = new Map<number, number>()
  let drained = 0
  let allDone: () => void = () => {}
  const jobs = new JobsService({ log, getDb: () => connection.db, listen: (channel, handler) => connection.listen(channel, handler) })
  jobs.define<{ n: number }>({ name: 'bench.latency', handler: async (job) => void started.set(job.data.n, performance.now()) })
  jobs.define<{ n: number }>({
    name: 'bench.batch',
    handler: async () => {
      if (++drained === BATCH) allDone()
    },
  })
  await jobs.start(connection.db)
  try {
    const latencies: number[] = []
    for (let n = 0; n < LATENCY_JOBS; n++) {
      const sent = performance.now()
      await jobs.sendNow('bench.latency', { n })
      while (!started.has(n)) await sleep(1)
      latencies.push(started.get(n)! - sent)
    }
    const done = new Promise<void>((resolve) => (allDone = resolve))
    const sendStart = performance.now()
    await connection.db.transaction(async (tx) => {
      for (let n = 0; n < BATCH; n++) await jobs.send(tx, 'bench.batch', { n })
    })
    const sentMs = performance.now() - sendStart
    const drainStart = performance.now()
    await done
    const drainMs = performance.now() - drainStart
    return [
      `${kind}:`,
      `  send-to-start latency  p50 ${percentile(latencies, 0.5).toFixed(1)} ms, p95 ${percentile(latencies, 0.95).toFixed(1)} ms (${LATENCY_JOBS} jobs, one at a time)`,
      `  sending ${BATCH} in one transaction  ${Math.round(BATCH / (sentMs / 1000))} jobs/s`,
      `  running them (one worker, batches of 10)  ${Math.round(BATCH / (drainMs / 1000))} jobs/s`,
    ].join('\n')
  } finally {
    await jobs.stop()
  }
}

const cleanups: (() => Promise<unknown>)[] = []
try {
  const dir = await mkdtemp(join(tmpdir(), 'groundwork-bench-jobs-'))
  cleanups.push(() => rm(dir, { recursive: true, force: true }))
  const lite = await openConnection('pglite', loadConfig({ PERSISTENT_DATA_DIR: dir, LOG_LEVEL: 'silent' }), log)
  cleanups.unshift(() => lite.close())
  print(await measure('pglite', lite))
  if (await postgresReachable()) {
    const database: TestDatabase = await createTestDatabase()
    cleanups.push(() => database.drop())
    const pg = await openConnection('postgresql', loadConfig({ ...database.env, LOG_LEVEL: 'silent' }), log)
    cleanups.unshift(() => pg.close())
    print(await measure('postgresql', pg))
  } else {
    print('postgresql: not measured (no server at TEST_DATABASE_URL or 127.0.0.1:5432)')
  }
} finally {
  for (const cleanup of cleanups) await cleanup().catch(() => undefined)
}
