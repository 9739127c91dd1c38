import { spawn } from 'node:child_process'
import { randomBytes } from 'node:crypto'
import { existsSync } from 'node:fs'
import { join } from 'node:path'
import { drizzle } from 'drizzle-orm/node-postgres'
import pg from 'pg'
import type { Database } from '../../services/database/connection.js'
import { migrate, readMigrations } from '../../services/database/migrator.js'
import * as schema from '../../services/schema.js'
import { identify } from '../../services/settings/cipher.js'
import type { SettingDefinition } from '../../services/settings/definition.js'
import { initializeSettings } from '../../services/settings/initialize.js'
import { buildRegistry } from '../../services/settings/registry.js'
import { createTestDatabase } from '../../test/helpers/postgres.js'
import { ROOT } from './processes.js'

export interface SettingsInit {
  kind: 'postgresql'
  definitions: number
  firstMs: number
  firstStatements: number
  againMs: number
  againStatements: number
}

/** Settings initialization with 1,000 definitions on PostgreSQL: statements issued and time, first and on a restart. */
export async function settingsInitialization(quick: boolean): Promise<SettingsInit> {
  const definitions = 1_000
  const database = await createTestDatabase()
  const pool = new pg.Pool({ connectionString: database.url, max: 2 })
  try {
    const statements: string[] = []
    const db = drizzle({ client: pool, schema, logger: { logQuery: (q) => void statements.push(q) } }) as unknown as Database
    await migrate(db, await readMigrations(join(ROOT, 'drizzle')))
    const modules = Object.fromEntries(
      Array.from({ length: 10 }, (_, g) => [
        `group_${g}`,
        {
          id: `group_${g}`,
          name: `Group ${g}`,
          description: 'bench',
          sort_order: g,
          settings: Array.from({ length: definitions / 10 }, (_, s): SettingDefinition => ({ key: `group_${g}.setting_${s}`, type: 'number', default: s, description: 'bench', encrypted: false, required: true })),
        },
      ]),
    )
    const registry = buildRegistry(modules)
    const identity = identify(randomBytes(32))
    const run = async () => {
      statements.length = 0
      const start = performance.now()
      await initializeSettings(db, registry, identity)
      return { ms: performance.now() - start, statements: statements.length }
    }
    const first = await run()
    const again = await run()
    void quick
    return { kind: 'postgresql', definitions, firstMs: first.ms, firstStatements: first.statements, againMs: again.ms, againStatements: again.statements }
  } finally {
    await pool.end()
    await database.drop()
  }
}

export interface ScriptOutput {
  measured: boolean
  output: string
}

/** The embedded database's setup (time, RSS, probe latency during setup): bench/embedded-setup.ts. */
export const embeddedSetup = (quick: boolean) => script('embedded-setup.ts', quick)

/** An online backup of the embedded database (time, probe latency, RSS it adds): bench/embedded-backup.ts. */
export const embeddedBackup = (quick: boolean) => script('embedded-backup.ts', quick)

/** Jobs/s and send-to-start latency on both kinds: bench/jobs.ts. */
export const jobsBench = (quick: boolean) => script('jobs.ts', quick)

/** Runs a measurement written apart as its own process; its plain-text output is kept as is. */
async function script(name: string, quick: boolean): Promise<ScriptOutput> {
  const file = join(ROOT, 'bench', name)
  if (!existsSync(file)) return { measured: false, output: `not measured (bench/${name} is not in this build)` }
  const child = spawn(process.execPath, ['--import', 'tsx', file, ...(quick ? ['--quick'] : [])], { cwd: ROOT, stdio: ['ignore', 'pipe', 'inherit'] })
  let output = ''
  child.stdout.on('data', (chunk: Buffer) => (output += chunk.toString()))
  const code = await new Promise<number | null>((resolve) => child.once('exit', resolve))
  if (code !== 0) throw new Error(`bench/${name} exited with code ${code}:\n${output}`)
  return { measured: true, output: output.trim() }
}
