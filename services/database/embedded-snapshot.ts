import { PGlite } from '@electric-sql/pglite'
import { archiveFolder } from './embedded-archive.js'
import { countOurTables, pgliteQuery, type TableCount } from './table-stats.js'

export interface EmbeddedSnapshot {
  /** The data folder as a gzipped tar, laid out as PGlite's dumpDataDir lays it out. */
  archive: Blob
  /** Our tables' row counts in that very snapshot. */
  counts: TableCount[]
}

/**
 * A consistent copy of a live PGlite. It is taken inside a transaction of our own: PGlite runs every
 * query and transaction under that lock, so nothing writes while the folder is read, no other
 * transaction is half done, and the counts read in it describe exactly what the archive holds.
 * The folder is read from disk and compressed as a stream (embedded-archive.ts), which leaves the
 * event loop free; a database kept in memory (no folder) falls back to PGlite's dumpDataDir.
 */
export async function snapshotPglite(client: PGlite): Promise<EmbeddedSnapshot> {
  const folder = client.dataDir && !client.dataDir.includes('://') ? client.dataDir : null
  return client.transaction(async (tx) => {
    const counts = await countOurTables(pgliteQuery(tx))
    const archive = folder ? await archiveFolder(folder) : await client.dumpDataDir('gzip')
    return { archive, counts }
  })
}

export interface ArchiveCheck {
  migrations: number
  counts: TableCount[]
}

/**
 * Opens an archive in a throwaway in-memory PGlite and reads it: the migrations journal and our
 * tables' counts, which must equal `expected` when given. Throws saying what is wrong.
 */
export async function checkArchive(archive: Blob, expected?: TableCount[]): Promise<ArchiveCheck> {
  let client: PGlite | undefined
  try {
    client = new PGlite({ loadDataDir: archive })
    await client.waitReady
  } catch (error) {
    throw new Error(`it does not open as an embedded database (${error instanceof Error ? error.message : String(error)})`, { cause: error })
  }
  try {
    const journal = await client.query<{ present: boolean }>(`select to_regclass('drizzle.__drizzle_migrations') is not null as present`)
    if (!journal.rows[0]?.present) throw new Error('it has no migrations journal (drizzle.__drizzle_migrations): it is not a database of this application')
    const applied = await client.query<{ n: number }>('select count(*)::int as n from drizzle.__drizzle_migrations')
    const counts = await countOurTables(pgliteQuery(client))
    if (expected) {
      const differ = expected.filter((want) => counts.find((got) => got.table === want.table)?.rows !== want.rows)
      if (differ.length > 0) {
        const detail = differ.map((want) => `${want.table}: expected ${want.rows}, found ${counts.find((got) => got.table === want.table)?.rows ?? 'no table'}`).join('; ')
        throw new Error(`its row counts differ from the database it was taken from (${detail})`)
      }
    }
    return { migrations: applied.rows[0]?.n ?? 0, counts }
  } finally {
    await client.close().catch(() => undefined)
  }
}
