import { mkdtemp, rm } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { eq } from 'drizzle-orm'
import pino from 'pino'
import { loadConfig, type DatabaseType } from '../services/core/config.js'
import { openConnection } from '../services/database/connection.js'
import { migrate, readMigrations } from '../services/database/migrator.js'
import { loadPlugins } from '../services/plugins/loader.js'
import { migratePlugin } from '../services/plugins/migrations.js'
import { openPglitePluginDatabase, openPostgresPluginDatabase } from '../services/plugins/plugin-database.js'
import type { PluginDatabase } from '../services/plugins/definition.js'
import { notes } from '../plugins/notes/schema.js'
import { createTestDatabase, postgresReachable } from '../test/helpers/postgres.js'
import { ROOT } from './lib/processes.js'

// npm run bench:plugins [-- --quick]: what a plugin's isolation costs per query, as the median of
// alternating rounds of the same primary-key read through the core's handle and the plugin's.
const quick = process.argv.includes('--quick')
const ROUNDS = quick ? 3 : 7
const QUERIES = quick ? 500 : 2_000

async function measure(kind: DatabaseType): Promise<void> {
  const dataDir = await mkdtemp(join(tmpdir(), 'groundwork-bench-plugins-'))
  const database = kind === 'postgresql' ? await createTestDatabase() : null
  const config = loadConfig({ PERSISTENT_DATA_DIR: dataDir, LOG_LEVEL: 'silent', ...(database?.env ?? {}) })
  const log = pino({ level: 'silent' })
  const connection = await openConnection(kind, config, log)
  try {
    await migrate(connection.db, await readMigrations(config.migrationsFolder))
    const [plugin] = await loadPlugins({ pluginsFolder: join(ROOT, 'plugins'), pluginPackages: [] })
    await migratePlugin(connection.db, plugin!)
    const scoped =
      kind === 'postgresql'
        ? openPostgresPluginDatabase('notes', plugin!.definition.tables!, config, log)
        : openPglitePluginDatabase('notes', plugin!.definition.tables!, (connection.db as unknown as { $client: never }).$client)
    try {
      const pluginDb = scoped.db as PluginDatabase<{ notes: typeof notes }>
      const [row] = await pluginDb.insert(notes).values({ title: 'bench' }).returning()
      const read = (db: PluginDatabase) => db.select().from(notes).where(eq(notes.id, row!.id))
      const core = connection.db as unknown as PluginDatabase
      const round = async (db: PluginDatabase) => {
        const start = performance.now()
        for (let i = 0; i < QUERIES; i++) await read(db)
        return ((performance.now() - start) * 1000) / QUERIES
      }
      await round(core)
      await round(pluginDb)
      const coreUs: number[] = []
      const pluginUs: number[] = []
      for (let r = 0; r < ROUNDS; r++) {
        coreUs.push(await round(core))
        pluginUs.push(await round(pluginDb))
      }
      const c = median(coreUs)
      const p = median(pluginUs)
      process.stdout.write(`${kind.padEnd(10)} core ${c.toFixed(0).padStart(5)} µs/query   plugin ${p.toFixed(0).padStart(5)} µs/query   isolation ${signed(p - c)} µs (${signed((p / c - 1) * 100)} %)\n`)
    } finally {
      await scoped.close()
    }
  } finally {
    await connection.close()
    await database?.drop()
    await rm(dataDir, { recursive: true, force: true })
  }
}

function signed(value: number): string {
  return `${value >= 0 ? '+' : ''}${value.toFixed(0)}`
}

function median(values: number[]): number {
  const sorted = [...values].sort((a, b) => a - b)
  return sorted[Math.floor(sorted.length / 2)]!
}

process.stdout.write(`${ROUNDS} alternating rounds of ${QUERIES} primary-key reads of plugin_notes.notes, median per query:\n`)
await measure('pglite')
if (await postgresReachable()) await measure('postgresql')
else process.stdout.write('postgresql skipped: no server at TEST_DATABASE_URL (or 127.0.0.1:5432)\n')
