/**
 * `npm run bench`: throughput of the paths every request takes, on both kinds, measured here
 * rather than asserted in tests (timings on shared machines are noise for a test).
 *   - GET /api/db/status through the full app (inject)
 *   - a one-row select: raw driver, Drizzle, Drizzle prepared — on PGlite and on PostgreSQL
 *   - RSS after opening PGlite
 * PostgreSQL runs against TEST_DATABASE_URL or postgres://postgres@127.0.0.1:5432/postgres
 * in a throwaway database.
 */
import { eq, sql } from 'drizzle-orm'
import { cp, mkdtemp, rm } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { buildApp } from '../services/app.js'
import { loadConfig } from '../services/core/config.js'
import { SELECTION_VERSION, writeSelection } from '../services/database/selection-file.js'
import { createPgliteTemplate } from '../test/helpers/pglite-template.js'
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

async function app(env: Record<string, string>) {
  const built = await buildApp(loadConfig({ LOG_LEVEL: 'silent', ADMIN_TOKEN: 'bench-admin-token-0123456789', ...env }))
  await built.ready()
  return built
}

async function main() {
  const template = await createPgliteTemplate()
  try {
    const dataDir = await mkdtemp(join(tmpdir(), 'groundwork-bench-'))
    await cp(template.dir, join(dataDir, 'pglite'), { recursive: true })
    await writeSelection(dataDir, { type: 'pglite', selectedAt: new Date().toISOString(), version: SELECTION_VERSION })

    const rssBefore = process.memoryUsage().rss
    const lite = await app({ PERSISTENT_DATA_DIR: dataDir })
    const rssPglite = process.memoryUsage().rss
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
    process.stdout.write(`\nRSS: ${Math.round(rssBefore / 2 ** 20)} MB before opening PGlite, ${Math.round(rssPglite / 2 ** 20)} MB after\n`)
  } finally {
    await template.remove()
  }
}

await main()
