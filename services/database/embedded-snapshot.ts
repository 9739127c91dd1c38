import { randomUUID } from 'node:crypto'
import { open, readdir, rm } from 'node:fs/promises'
import { join } from 'node:path'
import { Readable, Writable } from 'node:stream'
import { pipeline } from 'node:stream/promises'
import { createGunzip } from 'node:zlib'
import { PGlite } from '@electric-sql/pglite'
import { archiveFolder } from './embedded-archive.js'
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
  counts: TableCount[]
}

/**
 * Opens an archive in a throwaway in-memory PGlite and reads it, once it is known to be a whole
 * gzip stream (checkCompressed): the migrations journal and our
 * tables' counts, which must equal `expected` when given. Throws saying what is wrong.
 */
export async function checkArchive(archive: Blob, expected?: TableCount[]): Promise<ArchiveCheck> {
  await checkCompressed(archive)
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

/**
 * Our archives are gzipped tars. PGlite unpacks one with a DecompressionStream whose writes it
 * never awaits, so a file that is cut short, damaged, or not gzip at all rejects a promise nobody
 * holds, and Node ends the process with a stack trace (measured: `db restore` of a truncated
 * backup). Reading it through once here first, as a stream, turns that into an error we can word;
 * a stream that decompresses whole here decompresses whole there.
 */
async function checkCompressed(archive: Blob): Promise<void> {
  const head = new Uint8Array(await archive.slice(0, 2).arrayBuffer())
  if (head[0] !== 0x1f || head[1] !== 0x8b) throw new Error('it is not gzip-compressed, as every backup made by "npm run db -- backup" (a .tar.gz) is')
  let bytes = 0
  const count = new Writable({
    write(chunk: Buffer, _encoding, done) {
      bytes += chunk.length
      done()
    },
  })
  try {
    await pipeline(Readable.fromWeb(archive.stream() as Parameters<typeof Readable.fromWeb>[0]), createGunzip(), count)
  } catch (error) {
    throw new Error(`it is damaged or cut short (${error instanceof Error ? error.message : String(error)} after ${bytes} bytes unpacked): copy it again from where it was made`, { cause: error })
  }
  if (bytes === 0) throw new Error('it unpacks to nothing')
}
