/**
 * `npm run bench`: throughput of the paths every request takes, on both kinds, measured here
 * rather than asserted in tests (timings on shared machines are noise for a test).
 *   - GET /api/db/status through the full app (inject)
 *   - a one-row select: raw driver, Drizzle, Drizzle prepared — on PGlite and on PostgreSQL
 *   - the time and memory a first setup of the embedded database takes (POST /api/db/setup)
 * PostgreSQL runs against TEST_DATABASE_URL or postgres://postgres@127.0.0.1:5432/postgres
 * in a throwaway database.
 */
import { eq, sql } from 'drizzle-orm'
import { mkdtemp, rm } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { buildApp } from '../services/app.js'
import { loadConfig } from '../services/core/config.js'
import { createTestDatabase, postgresReachable } from '../test/helpers/postgres.js'
import { instance } from '../services/database/schema.js'
import type { Database } from '../services/database/connection.js'

const DURATION_MS = Number(process.env.BENCH_MS ?? 2_000)

async function measure(name: string, op: () => Promise<unknown>): Promise<void> {
  for (let i = 0; i < 200; i++) await op() // warm-up
  let count = 0
  const start = performance.now()
  while (performance.now() - start < DURATION_MS) {
    await op()
    count++
  }
  const seconds = (performance.now() - start) / 1000
  rows.push({ name, opsPerSecond: Math.round(count / seconds), usPerOp: Math.round((seconds * 1e6) / count) })
}

const rows: { name: string; opsPerSecond: number; usPerOp: number }[] = []

async function selects(kind: string, db: Database, raw: () => Promise<unknown>) {
  const [row] = await db.select().from(instance)
  const id = row!.id
  const prepared = db.select().from(instance).where(eq(instance.id, sql.placeholder('id'))).prepare(`bench_${kind}`)
  await measure(`${kind}: raw driver select`, raw)
  await measure(`${kind}: drizzle select`, () => db.select().from(instance).where(eq(instance.id, id)))
  await measure(`${kind}: drizzle prepared select`, () => prepared.execute({ id }))
}

const TOKEN = 'bench-admin-token-0123456789'

async function app(env: Record<string, string>) {
  const built = await buildApp(loadConfig({ LOG_LEVEL: 'silent', ADMIN_TOKEN: TOKEN, ...env }))
  await built.ready()
  await built.database.settled()
  return built
}

async function main() {
  const dataDir = await mkdtemp(join(tmpdir(), 'groundwork-bench-'))
  const lite = await app({ PERSISTENT_DATA_DIR: dataDir })
  const rssBefore = process.memoryUsage().rss
  const setupStart = performance.now()
  const res = await lite.inject({ method: 'POST', url: '/api/db/setup', headers: { authorization: `Bearer ${TOKEN}` }, payload: { type: 'pglite' } })
  if (res.statusCode !== 200) throw new Error(`setup failed: ${res.body}`)
  const setupMs = performance.now() - setupStart
  const rssAfter = process.memoryUsage().rss

  await measure('GET /api/db/status (inject)', () => lite.inject({ method: 'GET', url: '/api/db/status' }))
  const liteDb = lite.getDb()
  await selects('pglite', liteDb, () => liteDb.execute(sql`select * from instance where singleton`))
  await lite.close()
  await rm(dataDir, { recursive: true, force: true })

  if (await postgresReachable()) {
    const database = await createTestDatabase()
    const pgDataDir = await mkdtemp(join(tmpdir(), 'groundwork-bench-'))
    const pg = await app({ ...database.env, DB_TYPE: 'postgresql', PERSISTENT_DATA_DIR: pgDataDir })
    try {
      const pgDb = pg.getDb()
      await selects('postgresql', pgDb, () => database.query('select * from instance where singleton'))
    } finally {
      await pg.close()
      await database.drop()
      await rm(pgDataDir, { recursive: true, force: true })
    }
  } else {
    process.stderr.write('no PostgreSQL server: the postgresql rows are missing\n')
  }

  process.stdout.write(`\n${'benchmark'.padEnd(36)}${'ops/s'.padStart(10)}${'µs/op'.padStart(10)}\n`)
  for (const row of rows) process.stdout.write(`${row.name.padEnd(36)}${String(row.opsPerSecond).padStart(10)}${String(row.usPerOp).padStart(10)}\n`)
  process.stdout.write(`\nfirst PGlite setup: ${(setupMs / 1000).toFixed(1)} s; RSS ${Math.round(rssBefore / 2 ** 20)} MB before, ${Math.round(rssAfter / 2 ** 20)} MB after\n`)
}

await main()
