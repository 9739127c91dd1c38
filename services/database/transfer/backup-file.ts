import { createHash } from 'node:crypto'
import { createReadStream, createWriteStream } from 'node:fs'
import { once } from 'node:events'
import { pipeline as pipe } from 'node:stream'
import { pipeline } from 'node:stream/promises'
import { createGunzip, createGzip } from 'node:zlib'
import type { DatabaseType } from '../../core/config.js'
import { transferError } from './errors.js'
import type { SequenceValue, TableEntry } from './inventory.js'
import type { PartitionInfo } from './partitions.js'

/**
 * The logical backup, one gzipped file: a magic line, a header line (JSON), then frames — a JSON
 * line {"t": table index, "n": byte count} followed by that many bytes of COPY text — and a
 * trailer line with each table's row count and SHA-256 of its data. Kind-independent: COPY text
 * reads the same into PGlite and any PostgreSQL.
 */
export const MAGIC = 'GROUNDWORK-LOGICAL-BACKUP'
export const FORMAT_VERSION = 1

export interface BackupHeader {
  version: number
  createdAt: string
  sourceKind: DatabaseType
  /** The source's drizzle journal: a restore brings the target to exactly these first. */
  migrations: { hash: string; createdAt: number }[]
  tables: TableEntry[]
  sequences: SequenceValue[]
  /** Absent in backups written before partitions were carried (their tables list them). */
  partitions?: PartitionInfo[]
}

export interface BackupTrailer {
  end: true
  tables: { rows: number; sha256: string }[]
}

export class BackupWriter {
  private readonly gzip = createGzip()
  private readonly done: Promise<void>
  private readonly hashes: ReturnType<typeof createHash>[]
  private readonly rows: number[]

  constructor(path: string, header: BackupHeader) {
    // The data and the encrypted settings: for this user only, as the embedded archive (embedded-archive.ts).
    this.done = pipeline(this.gzip, createWriteStream(path, { flags: 'wx', mode: 0o600 }))
    // A failed write surfaces through `done`; this keeps it from being unhandled meanwhile.
    this.done.catch(() => undefined)
    this.hashes = header.tables.map(() => createHash('sha256'))
    this.rows = header.tables.map(() => 0)
    this.gzip.write(`${MAGIC} ${FORMAT_VERSION}\n${JSON.stringify(header)}\n`)
  }

  async frame(table: number, data: Buffer, rows: number): Promise<void> {
    this.hashes[table]!.update(data)
    this.rows[table]! += rows
    this.gzip.write(`${JSON.stringify({ t: table, n: data.length })}\n`)
    if (!this.gzip.write(data)) await Promise.race([once(this.gzip, 'drain'), this.done])
  }

  async finish(): Promise<BackupTrailer> {
    const trailer: BackupTrailer = { end: true, tables: this.hashes.map((hash, i) => ({ rows: this.rows[i]!, sha256: hash.digest('hex') })) }
    this.gzip.end(`${JSON.stringify(trailer)}\n`)
    await this.done
    return trailer
  }

  async abort(): Promise<void> {
    this.gzip.destroy()
    await this.done.catch(() => undefined)
  }
}

/**
 * The file's contents, uncompressed. Through pipeline, not .pipe(): .pipe() does not pass on the
 * file's own errors (a missing file, a folder, a read failing), which then went unhandled and
 * crashed the process while the reader waited forever. Here they reach whoever reads.
 */
function gunzipped(path: string): ReturnType<typeof createGunzip> {
  return pipe(createReadStream(path), createGunzip(), () => undefined)
}

/** True when `path` is a gzipped logical backup (it starts with the magic line), false for anything else. */
export async function isLogicalBackup(path: string): Promise<boolean> {
  const stream = gunzipped(path)
  try {
    for await (const chunk of stream) return (chunk as Buffer).subarray(0, MAGIC.length).toString() === MAGIC
    return false
  } catch {
    return false
  } finally {
    stream.destroy()
  }
}

/**
 * Reads a backup from start to end, handing each frame to `onFrame` (which may be slow: reading
 * waits), and checks everything the file can check by itself: the gzip CRC, the framing, each
 * table's row count and SHA-256 against the trailer and the header.
 */
export async function readBackup(path: string, onHeader: (header: BackupHeader) => Promise<void>, onFrame: (table: number, data: Buffer) => Promise<void>): Promise<BackupHeader> {
  const invalid = (why: string) => transferError('backup_invalid', `${path} is not a complete groundwork logical backup: ${why}. Use another backup file.`)
  const reader = new ByteReader(gunzipped(path))
  let header: BackupHeader
  try {
    const magic = await reader.line()
    if (magic !== `${MAGIC} ${FORMAT_VERSION}`) {
      throw magic?.startsWith(MAGIC) ? invalid(`its format is "${magic}"; this build reads version ${FORMAT_VERSION}`) : invalid('it does not start like one')
    }
    header = JSON.parse((await reader.line()) ?? 'null') as BackupHeader
    if (!header || !Array.isArray(header.tables)) throw invalid('its header is missing')
    if (header.partitions !== undefined && !(Array.isArray(header.partitions) && header.partitions.every(isPartition))) throw invalid('its list of partitions is damaged')
    await onHeader(header)
    const hashes = header.tables.map(() => createHash('sha256'))
    const rows = header.tables.map(() => 0)
    for (;;) {
      const line = await reader.line()
      if (line === null) throw invalid('it ends before its last table (was it cut short?)')
      const frame = JSON.parse(line) as { t?: number; n?: number } | BackupTrailer
      if ('end' in frame) {
        header.tables.forEach((table, i) => {
          const expected = frame.tables[i]
          if (!expected || expected.sha256 !== hashes[i]!.digest('hex') || expected.rows !== rows[i] || table.rows !== rows[i]) {
            throw invalid(`the data of ${table.schema}.${table.name} does not match its recorded count or hash`)
          }
        })
        if ((await reader.line()) !== null) throw invalid('it has data after its end')
        return header
      }
      if (typeof frame.t !== 'number' || typeof frame.n !== 'number' || !header.tables[frame.t]) throw invalid('a frame is damaged')
      const data = await reader.bytes(frame.n)
      hashes[frame.t]!.update(data)
      rows[frame.t]! += countLines(data)
      await onFrame(frame.t, data)
    }
  } catch (error) {
    if (error instanceof SyntaxError) throw invalid('a line of it is not JSON')
    if ((error as NodeJS.ErrnoException).code === 'Z_BUF_ERROR' || (error as NodeJS.ErrnoException).code === 'Z_DATA_ERROR') throw invalid(`it is damaged (${(error as Error).message})`)
    throw error
  } finally {
    reader.close()
  }
}

function countLines(data: Buffer): number {
  let n = 0
  for (let i = data.indexOf(0x0a); i !== -1; i = data.indexOf(0x0a, i + 1)) n++
  return n
}

/** Lines and exact byte counts from a stream, holding no more than one frame in memory. */
class ByteReader {
  private buffer: Buffer = Buffer.alloc(0)
  private readonly chunks: AsyncIterator<Buffer>
  constructor(private readonly stream: NodeJS.ReadableStream & { destroy(): void }) {
    this.chunks = stream[Symbol.asyncIterator]() as AsyncIterator<Buffer>
  }

  private async more(): Promise<boolean> {
    const next = await this.chunks.next()
    if (next.done) return false
    this.buffer = this.buffer.length === 0 ? next.value : Buffer.concat([this.buffer, next.value])
    return true
  }

  async line(): Promise<string | null> {
    for (;;) {
      const end = this.buffer.indexOf(0x0a)
      if (end !== -1) {
        const line = this.buffer.subarray(0, end).toString('utf8')
        this.buffer = this.buffer.subarray(end + 1)
        return line
      }
      if (!(await this.more())) return this.buffer.length === 0 ? null : this.take(this.buffer.length).toString('utf8')
    }
  }

  async bytes(n: number): Promise<Buffer> {
    while (this.buffer.length < n) if (!(await this.more())) throw transferError('backup_invalid', 'The backup file ends in the middle of a table\'s data (was it cut short?). Use another backup file.')
    return this.take(n)
  }

  private take(n: number): Buffer {
    const out = Buffer.from(this.buffer.subarray(0, n))
    this.buffer = this.buffer.subarray(n)
    return out
  }

  close() {
    this.stream.destroy()
  }
}

function isPartition(value: unknown): boolean {
  const p = value as PartitionInfo | null
  const named = (t: { schema?: unknown; name?: unknown } | null | undefined) => typeof t?.schema === 'string' && typeof t.name === 'string'
  return typeof p === 'object' && p !== null && named(p) && named(p.parent) && typeof p.bound === 'string' && (p.partitionBy === undefined || typeof p.partitionBy === 'string')
}
