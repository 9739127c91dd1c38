import { createReadStream, createWriteStream } from 'node:fs'
import { lstat, readdir } from 'node:fs/promises'
import { join } from 'node:path'
import { Readable } from 'node:stream'
import { pipeline } from 'node:stream/promises'
import { createGzip } from 'node:zlib'

/*
 * The embedded database's data folder as a gzipped tar, laid out as PGlite's dumpDataDir lays it
 * out (entries named from the folder's root, "/PG_VERSION", "/base/5/1259", each folder before what
 * it holds), so that PGlite's loadDataDir and our restore read it alike. dumpDataDir builds the
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
