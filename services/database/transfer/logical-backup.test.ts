import { gunzipSync, gzipSync } from 'node:zlib'
import { readFile, readdir, writeFile } from 'node:fs/promises'
import { join } from 'node:path'
import pino from 'pino'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import type { DatabaseType } from '../../core/config.js'
import { describeNoPostgres, itNoPostgres, itOnKind, tempDir, testConfig } from '../../../test/helpers/app.js'
import { KINDS, openTestConnection, type TestConnection } from '../../../test/helpers/connections.js'
import { createTestDatabase } from '../../../test/helpers/postgres.js'
import { SMTP_PASSWORD, digestDatabase, digestPglite, digestPostgres, populate, settingsOn, type Digest } from '../../../test/helpers/transfer-data.js'
import { sql } from 'drizzle-orm'
import { openConnection, type Database, type DatabaseConnection } from '../connection.js'
import { rowsOf } from '../results.js'
import { isLogicalBackup } from './backup-file.js'
import { restoreLogicalBackup, writeLogicalBackup } from './logical-backup.js'

const KV_ROWS = 2_500

/** Our five core tables and pg-boss's plain tables and partitions (not its version table: pg-boss writes that itself). */
async function ownedTables(db: Database): Promise<number> {
  const [row] = rowsOf<{ n: number }>(
    await db.execute(
      sql`select count(*)::int as n from pg_class c join pg_namespace n on n.oid = c.relnamespace where c.relkind = 'r'
          and ((n.nspname = 'public' and c.relname in ('instance', 'settings', 'settings_groups', 'settings_meta', 'kv_entries')) or (n.nspname = 'pgboss' and c.relname <> 'version'))`,
    ),
  )
  return row!.n
}

/** An empty target of `kind`, never migrated: restore applies the migrations itself. */
async function emptyTarget(kind: DatabaseType): Promise<{ connection: DatabaseConnection; dataDir: string; digest(): Promise<Digest>; close(): Promise<void> }> {
  const dataDir = await tempDir()
  const log = pino({ level: 'silent' })
  if (kind === 'pglite') {
    const connection = await openConnection('pglite', testConfig({ PERSISTENT_DATA_DIR: dataDir }), log)
    connection.started() // as the CLI's restore does
    return { connection, dataDir, digest: async () => (await connection.close(), digestPglite(join(dataDir, 'pglite'))), close: () => connection.close() }
  }
  const database = await createTestDatabase()
  const connection = await openConnection('postgresql', testConfig({ PERSISTENT_DATA_DIR: dataDir, ...database.env }), log)
  return {
    connection,
    dataDir,
    digest: () => digestPostgres(database.url),
    close: async () => {
      await connection.close()
      await database.drop()
    },
  }
}

for (const sourceKind of KINDS) {
  describe(`a logical backup of ${sourceKind}`, () => {
    let source: TestConnection
    let sourceDir: string
    let file: string
    let written: Awaited<ReturnType<typeof writeLogicalBackup>>
    let digest: Digest

    beforeAll(async () => {
      source = await openTestConnection(sourceKind)
      sourceDir = await tempDir()
      await populate(source.connection.db, sourceDir, sourceKind, KV_ROWS)
      // Written here, not in a test: every test below reads it, and each must pass run alone.
      file = join(await tempDir(), 'backup.gz')
      written = await writeLogicalBackup(source.connection.db, file, { chunkRows: 1_000 })
    }, 120_000)
    afterAll(() => source?.close())

    itOnKind(sourceKind)('is one verified gzipped file, written without leaving a temp file', async () => {
      expect(written.tables).toBe(await ownedTables(source.connection.db))
      expect(written.rows).toBeGreaterThan(KV_ROWS)
      expect(written.bytes).toBeGreaterThan(0)
      expect(await readdir(join(file, '..'))).toEqual(['backup.gz'])
      expect(gunzipSync(await readFile(file)).subarray(0, 25).toString()).toBe('GROUNDWORK-LOGICAL-BACKUP')
    })

    for (const targetKind of KINDS) {
      const itOnPair = sourceKind === 'postgresql' || targetKind === 'postgresql' ? it : itNoPostgres
      itOnPair(`restores into an empty ${targetKind} database with every row, and the encrypted setting readable with the same key`, { timeout: 120_000 }, async () => {
        const target = await emptyTarget(targetKind)
        try {
          const result = await restoreLogicalBackup(file, target.connection.db)
          expect(result.tables).toBe(await ownedTables(source.connection.db))
          const settings = await settingsOn(target.connection.db, sourceDir, targetKind)
          expect(await settings.get('smtp.password')).toBe(SMTP_PASSWORD)
          digest ??= await digestDatabase(source.connection.db)
          expect(await target.digest()).toEqual(digest)
          expect(digest.kv_entries!.rows).toBe(KV_ROWS)
        } finally {
          await target.close().catch(() => undefined)
        }
      })
    }

    itOnKind(sourceKind)('refuses a damaged file and a target that holds data, leaving the target as it was', { timeout: 120_000 }, async () => {
      const target = await emptyTarget('pglite')
      try {
        const text = gunzipSync(await readFile(file))
        const cut = join(await tempDir(), 'cut.gz')
        await writeFile(cut, gzipSync(text.subarray(0, text.length - 200)))
        await expect(restoreLogicalBackup(cut, target.connection.db)).rejects.toThrow(/is not a complete groundwork logical backup/)
        await restoreLogicalBackup(file, target.connection.db)
        await expect(restoreLogicalBackup(file, target.connection.db)).rejects.toThrow(/restored only into an empty database, and this one holds data: .*public\.kv_entries has 2500 row/)
      } finally {
        await target.close()
      }
    })
  })
}

describeNoPostgres('a logical backup that cannot be read', () => {
  // Reading went through .pipe(), which does not pass on the file's own errors: they went
  // unhandled (the CLI crashed with a stack trace) and the restore waited forever.
  it('is refused with the file\'s own error, missing or a folder, and the target stays as it was', async () => {
    const target = await emptyTarget('pglite')
    try {
      const tables = await ownedTables(target.connection.db)
      const missing = join(await tempDir(), 'missing.gz')
      const folder = await tempDir()
      expect(await isLogicalBackup(missing)).toBe(false)
      expect(await isLogicalBackup(folder)).toBe(false)
      await expect(restoreLogicalBackup(missing, target.connection.db)).rejects.toMatchObject({ code: 'ENOENT' })
      await expect(restoreLogicalBackup(folder, target.connection.db)).rejects.toMatchObject({ code: 'EISDIR' })
      expect(await ownedTables(target.connection.db)).toBe(tables)
    } finally {
      await target.close()
    }
  })
})
