import { join } from 'node:path'
import pino from 'pino'
import { sql } from 'drizzle-orm'
import { describe, expect, it } from 'vitest'
import { tempDir } from '../../test/helpers/app.js'
import { REAL_TAGS } from '../../test/helpers/migrations.js'
import { loadConfig } from '../core/config.js'
import { openConnection } from './connection.js'
import { inspectMigrations, readMigrations } from './migrator.js'
import { rowsOf } from './results.js'

describe('creating the embedded database in a child process', () => {
  it('creates and migrates the folder there, reports what it applied, and the server opens it with PGLITE_SHARED_BUFFERS', async () => {
    const config = loadConfig({ PERSISTENT_DATA_DIR: await tempDir(), LOG_LEVEL: 'silent', PGLITE_SHARED_BUFFERS: '24MB' })
    const connection = await openConnection('pglite', config, pino({ level: 'silent' }))
    try {
      expect(connection.createdFresh).toBe(true)
      expect(connection.migratedAtCreation).toEqual(REAL_TAGS)
      expect(await inspectMigrations(connection.db, await readMigrations(config.migrationsFolder))).toMatchObject({ pending: [], applied: REAL_TAGS.length })
      expect(rowsOf(await connection.db.execute(sql`show shared_buffers`))).toEqual([{ shared_buffers: '24MB' }])
    } finally {
      await connection.close()
    }
    // Opening it again creates nothing and applies nothing.
    const again = await openConnection('pglite', config, pino({ level: 'silent' }))
    try {
      expect([again.createdFresh, again.migratedAtCreation]).toEqual([false, []])
      expect(again.description).toBe(join(config.persistentDataDir, 'pglite'))
    } finally {
      await again.close()
    }
  })
})
