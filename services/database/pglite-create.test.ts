import { join } from 'node:path'
import pino from 'pino'
import { sql } from 'drizzle-orm'
import { describe, expect, it } from 'vitest'
import { exists, tempDir } from '../../test/helpers/app.js'
import { eventually } from '../../test/helpers/apps.js'
import { REAL_TAGS } from '../../test/helpers/migrations.js'
import { creatingChildren } from '../../test/helpers/processes.js'
import { loadConfig } from '../core/config.js'
import { openConnection } from './connection.js'
import { createPgliteDataDir } from './pglite-create.js'
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

  it('settles only once the child is gone when aborted: the caller never removes the folder under it, and no zombie is left', async () => {
    const config = loadConfig({ PERSISTENT_DATA_DIR: await tempDir(), LOG_LEVEL: 'silent' })
    const abort = new AbortController()
    const settled = createPgliteDataDir(join(config.persistentDataDir, 'data'), config, { signal: abort.signal }).catch((error: unknown) => error)
    const [child] = await eventually('the child creating the database', creatingChildren, (pids) => pids.length === 1)
    abort.abort()
    expect(await settled).toMatchObject({ name: 'AbortError' })
    // Reaped, not only killed: a zombie would still have its /proc entry.
    expect(await exists(`/proc/${child}`)).toBe(false)
  })

  it('stops a child that takes too long, says so, and settles only once it is gone', async () => {
    const config = loadConfig({ PERSISTENT_DATA_DIR: await tempDir(), LOG_LEVEL: 'silent' })
    // Creating a database takes 2.5 s or more: 1.5 s is always too long here.
    const settled = createPgliteDataDir(join(config.persistentDataDir, 'data'), config, { timeoutMs: 1_500 }).catch((error: unknown) => error)
    const [child] = await eventually('the child creating the database', creatingChildren, (pids) => pids.length === 1)
    expect(await settled).toMatchObject({ message: 'creating the data folder took over 1.5 s and was stopped' })
    expect(await exists(`/proc/${child}`)).toBe(false)
  })
})
