import { cp, rm } from 'node:fs/promises'
import { join } from 'node:path'
import { PGlite } from '@electric-sql/pglite'
import { sql } from 'drizzle-orm'
import { drizzle as drizzleNodePg } from 'drizzle-orm/node-postgres'
import { drizzle as drizzlePglite } from 'drizzle-orm/pglite'
import pg from 'pg'
import { inject } from 'vitest'
import type { Database } from '../../services/database/connection.js'
import { migrate, readMigrations } from '../../services/database/migrator.js'
import { rowsOf } from '../../services/database/results.js'
import * as schema from '../../services/schema.js'
import { REAL_MIGRATIONS } from './migrations.js'
import { tempDir } from './app.js'
import { createTestDatabase } from './postgres.js'

export type Kind = 'pglite' | 'postgresql'

export interface CountedDatabase {
  kind: Kind
  db: Database
  /** Every statement sent through `db`, in order (PGlite runs its own begin/commit, which Drizzle does not see). */
  statements: string[]
  /** Every row of every table of the public schema, as text: to search for what must not be there. */
  dump(): Promise<string>
  close(): Promise<void>
}

/** A migrated database of either kind whose statements are counted (through Drizzle's logger). */
export async function openCountedDatabase(kind: Kind): Promise<CountedDatabase> {
  const statements: string[] = []
  const logger = { logQuery: (query: string) => void statements.push(query) }
  let db: Database
  let close: () => Promise<void>
  if (kind === 'pglite') {
    const dir = await tempDir('groundwork-counted-')
    await cp(inject('pgliteTemplate'), join(dir, 'pglite'), { recursive: true })
    const client = await PGlite.create(join(dir, 'pglite'))
    db = drizzlePglite({ client, schema, logger })
    close = async () => {
      await client.close()
      await rm(dir, { recursive: true, force: true })
    }
  } else {
    const database = await createTestDatabase()
    const pool = new pg.Pool({ connectionString: database.url, max: 3 })
    db = drizzleNodePg({ client: pool, schema, logger })
    await migrate(db, await readMigrations(REAL_MIGRATIONS))
    close = async () => {
      await pool.end()
      await database.drop()
    }
  }
  statements.length = 0
  return {
    kind,
    db,
    statements,
    dump: () => dumpTables(db),
    close,
  }
}

export async function dumpTables(db: Database): Promise<string> {
  const tables = rowsOf<{ name: string }>(await db.execute(sql`select table_name as name from information_schema.tables where table_schema = 'public' order by 1`))
  const lines: string[] = []
  for (const { name } of tables) {
    const rows = rowsOf<{ line: string }>(await db.execute(sql`select t::text as line from ${sql.identifier(name)} t`))
    lines.push(`-- ${name}`, ...rows.map((row) => row.line))
  }
  return lines.join('\n')
}
