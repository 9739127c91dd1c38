import { createReadStream, createWriteStream } from 'node:fs'
import { lstat, readdir } from 'node:fs/promises'
import { dirname, join } from 'node:path'
import { Readable } from 'node:stream'
import { pipeline } from 'node:stream/promises'
import { createGzip } from 'node:zlib'
import { extract } from 'tar'
import { fileSystemCode } from './persistent-data.js'

/*
 * The embedded database's data folder as a gzipped tar, laid out as PGlite's dumpDataDir lays it
 * out (entries named from the folder's root, "/PG_VERSION", "/base/5/1259", each folder before what
 * it holds), so that PGlite's loadDataDir and our unpackArchive read it alike. dumpDataDir builds the
 * whole tar in memory with synchronous reads, then compresses it: for a 100 MB database it held the
 * event loop ~1 s and the server's memory grew by the tar and its compressed copy together
 * (~270 MB). Here each file is read as a stream, compressed as it comes and written to a file, so
 * the event loop stays free and memory holds a few chunks, whatever the database's size.
 *
 * The caller keeps the database from writing meanwhile (embedded-snapshot.ts).
 */

const BLOCK = 512

interface Entry {
  /** From the folder's root, with a leading slash. */
  name: string
  path: string
  directory: boolean
  size: number
  mode: number
  mtime: number
}

/** Every folder and file under `root`, depth first, each folder before its contents, in name order. */
async function entries(root: string): Promise<Entry[]> {
  const found: Entry[] = []
  const walk = async (folder: string, prefix: string): Promise<void> => {
    for (const name of (await readdir(folder)).sort()) {
      const path = join(folder, name)
      const stats = await lstat(path)
      const entry = { name: `${prefix}/${name}`, path, size: stats.size, mode: stats.mode & 0o7777, mtime: Math.floor(stats.mtimeMs / 1000) }
      if (stats.isDirectory()) {
        found.push({ ...entry, directory: true, size: 0 })
        await walk(path, entry.name)
      } else if (stats.isFile()) {
        found.push({ ...entry, directory: false })
      } else {
        throw new Error(`${path} is neither a file nor a folder: the embedded database's folder holds only those, so it cannot be archived`)
      }
    }
  }
  await walk(root, '')
  return found
}

function octal(value: number, width: number): string {
  return value.toString(8).padStart(width - 1, '0') + '\0'
}

/** A ustar header. Names over 100 bytes go in the prefix field (up to 155 more), split at a slash. */
export function tarHeader(entry: Pick<Entry, 'name' | 'directory' | 'size' | 'mode' | 'mtime'>): Buffer {
  const header = Buffer.alloc(BLOCK)
  let name = entry.name
  let prefix = ''
  if (Buffer.byteLength(name) > 100) {
    const cut = name.lastIndexOf('/')
    prefix = name.slice(0, cut)
    name = name.slice(cut + 1)
    if (Buffer.byteLength(name) > 100 || Buffer.byteLength(prefix) > 155) throw new Error(`the name ${entry.name} is too long for a tar archive`)
  }
  header.write(name, 0, 100, 'utf8')
  header.write(octal(entry.mode, 8), 100, 'ascii')
  header.write(octal(0, 8), 108, 'ascii')
  header.write(octal(0, 8), 116, 'ascii')
  header.write(octal(entry.size, 12), 124, 'ascii')
  header.write(octal(entry.mtime, 12), 136, 'ascii')
  header.write(' '.repeat(8), 148, 'ascii')
  header.write(entry.directory ? '5' : '0', 156, 'ascii')
  header.write('ustar\0' + '00', 257, 'ascii')
  header.write(prefix, 345, 155, 'utf8')
  let sum = 0
  for (const byte of header) sum += byte
  header.write(octal(sum, 7) + ' ', 148, 'ascii')
  return header
}

async function* tar(list: Entry[]): AsyncGenerator<Buffer> {
  for (const entry of list) {
    yield tarHeader(entry)
    if (entry.directory || entry.size === 0) continue
    let read = 0
    // The size the header gave, exactly: the caller holds the database still, so it cannot change.
    for await (const chunk of createReadStream(entry.path, { end: entry.size - 1, highWaterMark: 1 << 20 }) as AsyncIterable<Buffer>) {
      read += chunk.length
      yield chunk
    }
    if (read !== entry.size) throw new Error(`${entry.path} changed size while it was archived (${entry.size} bytes, then ${read})`)
    const pad = (BLOCK - (entry.size % BLOCK)) % BLOCK
    if (pad > 0) yield Buffer.alloc(pad)
  }
  yield Buffer.alloc(BLOCK * 2)
}

/**
 * Writes the folder `root` to the new file `file` (it must not exist; readable by its owner only)
 * as a gzipped tar in the layout of PGlite's dumpDataDir, without holding the event loop. Resolves
 * to the archive's size in bytes.
 */
export async function archiveFolder(root: string, file: string): Promise<number> {
  const list = await entries(root)
  const out = createWriteStream(file, { flags: 'wx', mode: 0o600 })
  await pipeline(Readable.from(tar(list)), createGzip(), out)
  return out.bytesWritten
}

/**
 * Unpacks an archive of a data folder (ours, or PGlite's dumpDataDir) into the existing, empty
 * folder `folder`, as a stream: memory holds a few chunks of it, whatever its size, and the disk
 * needs room for the folder. (PGlite's loadDataDir holds the compressed archive, the tar and every
 * file in memory at once: `db backup`'s check took 3.1 GB for a 677 MB folder, measured.)
 * Only files and folders are taken. The error's message completes "<file> cannot be used: …" and
 * says what is wrong: cut short or damaged, not such an archive, an entry it will not write, or no
 * room on the disk.
 */
export async function unpackArchive(file: string, folder: string): Promise<void> {
  const problems: string[] = []
  let writeError: unknown
  try {
    await extract({
      file,
      cwd: folder,
      // As root, node-tar would give each file the owner recorded in the archive.
      preserveOwner: false,
      // Its guard against decompression bombs (1,000:1 by default) counts from the first byte, and a
      // data folder holds zero-filled files: a fresh 16 MB WAL segment gzips to 16 KB (1,029:1).
      // The disk's room bounds what an archive can unpack to here.
      maxDecompressionRatio: Number.POSITIVE_INFINITY,
      filter: (path, entry) => {
        const type = 'type' in entry ? entry.type : null
        if (type === 'File' || type === 'OldFile' || type === 'Directory') return true
        problems.push(`${path} is neither a file nor a folder (${String(type)})`)
        return false
      },
      // Entries are named from the folder's root ("/PG_VERSION"): the leading slash goes (TAR_ENTRY_INFO).
      // Anything else (a bad checksum, a name with "..") would leave a file out. node-tar reports a
      // file it could not write (a full disk) the same way, with the file system's error as data.
      onwarn: (code, message, data) => {
        if (fileSystemCode(data)) writeError ??= data
        else if (code !== 'TAR_ENTRY_INFO') problems.push(`${code}: ${message}`)
      },
    })
  } catch (error) {
    throw new Error(unpackFailure(folder, error), { cause: error })
  }
  if (writeError) throw new Error(unpackFailure(folder, writeError), { cause: writeError })
  if (problems.length > 0) {
    const more = problems.length > 3 ? ` (and ${problems.length - 3} more)` : ''
    throw new Error(`it is damaged: ${problems.slice(0, 3).join('; ')}${more}`)
  }
}

function unpackFailure(folder: string, error: unknown): string {
  const message = error instanceof Error ? error.message : String(error)
  const code = fileSystemCode(error)
  if (code === 'ENOSPC' || code === 'EDQUOT') {
    return `there is no room to unpack it in ${dirname(folder)} (${code}): it needs about the size of the database's folder there. Free some space and try again`
  }
  if (code) return `it could not be unpacked into ${folder} (${message})`
  if (/Unrecognized archive format/.test(message)) return 'it is not an archive of an embedded database (a backup made by "npm run db -- backup" is a .tar.gz)'
  return `it is damaged or cut short (${message}): copy it again from where it was made`
}
