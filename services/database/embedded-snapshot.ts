import { randomUUID } from 'node:crypto'
import { mkdtemp, open, readdir, rm, stat } from 'node:fs/promises'
import { join } from 'node:path'
import type { Readable } from 'node:stream'
import { PGlite } from '@electric-sql/pglite'
import { removeIfInterrupted } from '../core/interrupt-cleanup.js'
import { secretsHeld, type SecretsHeld } from '../settings/secrets-held.js'
import { archiveFolder, unpackArchive } from './embedded-archive.js'
import { databaseError } from './errors.js'
import { isPersistentDataProblem, outOfSpace, unwritable } from './persistent-data.js'
import { countOurTables, pgliteQuery, type TableCount } from './table-stats.js'

export interface EmbeddedSnapshot {
  /** The archive's size in bytes. */
  bytes: number
  /** Our tables' row counts in that very snapshot. */
  counts: TableCount[]
}

/** A snapshot the server sends: the archive as a stream. */
export interface StreamedSnapshot extends EmbeddedSnapshot {
  archive: Readable
}

/**
 * A consistent copy of a live PGlite, written to the new file `file` as a gzipped tar of its data
 * folder, laid out as PGlite's dumpDataDir lays it out. It is taken inside a transaction of our
 * own: PGlite runs every query and transaction under that lock, so nothing writes while the folder
 * is read, no other transaction is half done, and the counts read in it describe exactly what the
 * archive holds. The folder is read from disk and compressed as a stream (embedded-archive.ts),
 * which leaves the event loop and memory free. The server and the CLI always open a data folder.
 */
export async function snapshotPglite(client: PGlite, file: string): Promise<EmbeddedSnapshot> {
  const folder = client.dataDir
  if (!folder || folder.includes('://')) throw new Error(`only an embedded database in a data folder can be backed up, not ${folder ?? 'one in memory'}`)
  return client.transaction(async (tx) => ({ counts: await countOurTables(pgliteQuery(tx)), bytes: await archiveFolder(folder, file) }))
}

const PARTIAL = { prefix: '.backup-', suffix: '.partial' }
/** The files this process is writing now: any other with their name is left from a process that died. */
const writing = new Set<string>()

/**
 * A snapshot of the server's embedded database as a stream of its archive (GET /api/db/backup).
 * The archive is written to a file under PERSISTENT_DATA_DIR, which is removed as soon as it is
 * open: the stream then holds the only reference, so the space comes back when the answer ends,
 * however it ends, and memory holds none of it. One left by a server that died while writing it is
 * removed by the next backup.
 */
export async function streamSnapshot(client: PGlite, persistentDataDir: string): Promise<StreamedSnapshot> {
  await removeAbandoned(persistentDataDir)
  const file = join(persistentDataDir, `${PARTIAL.prefix}${randomUUID()}${PARTIAL.suffix}`)
  writing.add(file)
  try {
    const snapshot = await snapshotPglite(client, file)
    const handle = await open(file, 'r')
    const archive = handle.createReadStream()
    // Where an open file cannot be removed (Windows), it is removed once the stream closes.
    await rm(file).catch(() => archive.once('close', () => void rm(file, { force: true }).catch(() => undefined)))
    return { ...snapshot, archive }
  } catch (error) {
    await rm(file, { force: true }).catch(() => undefined)
    throw backupWriteError(persistentDataDir, error)
  } finally {
    writing.delete(file)
  }
}

function backupWriteError(persistentDataDir: string, error: unknown): unknown {
  const why = outOfSpace(persistentDataDir, error)
  if (why) {
    return databaseError(
      'persistent_data_full',
      `Could not write the backup: ${why}. The server writes its compressed copy of the database there before sending it (up to the size of the pglite folder, less for data that compresses). Free some space or give the volume more, then try again; or stop the server and run "npm run db -- backup <file>" to write it on another disk. Nothing was kept, and the database serves on.`,
      { cause: error },
    )
  }
  return isPersistentDataProblem(error) ? unwritable(persistentDataDir, 'the copy of the embedded database for this backup', error) : error
}

async function removeAbandoned(folder: string): Promise<void> {
  const names = await readdir(folder).catch(() => [] as string[])
  for (const name of names) {
    const path = join(folder, name)
    if (name.startsWith(PARTIAL.prefix) && name.endsWith(PARTIAL.suffix) && !writing.has(path)) await rm(path, { force: true }).catch(() => undefined)
  }
}

export interface ArchiveCheck {
  migrations: number
  /** The applied migrations' journal times (created_at, the `when` of their files), oldest first. */
  appliedAt: number[]
  counts: TableCount[]
  /** The settings key it was written with and how many encrypted values need it: the key is not in the archive. */
  secrets: SecretsHeld
}

/** The throwaway folder's name beside the archive, before mkdtemp's six characters. */
export function checkFolderPrefix(archive: string): string {
  return `${archive}.check-`
}

/**
 * Unpacks an archive into a throwaway folder beside `file` (removed after) and reads it there in a
 * PGlite of its own: the migrations journal and our tables' counts, which must equal `expected`
 * when given. Memory stays that of one opened database whatever the archive's size; the disk needs
 * room for the unpacked folder meanwhile. Throws saying what is wrong.
 */
export async function checkArchive(file: string, expected?: TableCount[]): Promise<ArchiveCheck> {
  const folder = await mkdtemp(checkFolderPrefix(file))
  const forget = removeIfInterrupted(folder)
  try {
    await unpackArchive(file, folder)
    return await checkUnpacked(folder, expected)
  } finally {
    await rm(folder, { recursive: true, force: true })
    forget()
  }
}

/**
 * Reads the data folder `folder`, unpacked from an archive, in a PGlite of its own (which may
 * write to it, as opening any database does): see checkArchive.
 */
export async function checkUnpacked(folder: string, expected?: TableCount[]): Promise<ArchiveCheck> {
  // PGlite would create a new database in a folder without one, and then find no journal in it.
  if (!(await stat(join(folder, 'PG_VERSION')).catch(() => null))?.isFile()) throw new Error('it holds no database folder (no PG_VERSION at its top)')
  let client: PGlite | undefined
  try {
    client = new PGlite(folder)
    await client.waitReady
  } catch (error) {
    throw new Error(`it does not open as an embedded database (${error instanceof Error ? error.message : String(error)})`, { cause: error })
  }
  try {
    const journal = await client.query<{ present: boolean }>(`select to_regclass('drizzle.__drizzle_migrations') is not null as present`)
    if (!journal.rows[0]?.present) throw new Error('it has no migrations journal (drizzle.__drizzle_migrations): it is not a database of this application')
    const applied = await client.query<{ created_at: string | number }>('select created_at from drizzle.__drizzle_migrations order by created_at')
    const counts = await countOurTables(pgliteQuery(client))
    if (expected) {
      const differ = expected.filter((want) => counts.find((got) => got.table === want.table)?.rows !== want.rows)
      if (differ.length > 0) {
        const detail = differ.map((want) => `${want.table}: expected ${want.rows}, found ${counts.find((got) => got.table === want.table)?.rows ?? 'no table'}`).join('; ')
        throw new Error(`its row counts differ from the database it was taken from (${detail})`)
      }
    }
    const appliedAt = applied.rows.map((row) => Number(row.created_at))
    return { migrations: appliedAt.length, appliedAt, counts, secrets: await secretsHeld(pgliteQuery(client)) }
  } finally {
    await client.close().catch(() => undefined)
  }
}
