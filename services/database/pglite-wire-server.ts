import { createServer, type Socket } from 'node:net'
import { chmod, rm } from 'node:fs/promises'
import type { PGlite } from '@electric-sql/pglite'

// Requests sent before the startup message, each 8 bytes: a length and a code, no type byte.
const SSL_REQUEST = 80877103
const GSSENC_REQUEST = 80877104
const CANCEL_REQUEST = 80877102

export interface WireServer {
  readonly path: string
  close(): Promise<void>
}

/**
 * Serves a PGlite over PostgreSQL's wire protocol on a Unix socket, for psql and drizzle-kit.
 * Our own ~100 lines rather than @electric-sql/pglite-socket: every release of it pins one exact
 * PGlite version (0.2.17 wants 0.5.14, we run 0.5.16) plus seven extension packages as peers.
 *
 * PGlite is one session: each client message runs under PGlite's transaction mutex, held from a
 * client's first message until it is idle again (ReadyForQuery outside a transaction block), so
 * the application's own queries never land inside a client's transaction, nor a client's inside
 * the application's. A client idle in an open transaction therefore blocks everyone, as a lock
 * would on PostgreSQL; closing the connection rolls it back.
 */
export async function serveOverSocket(client: PGlite, path: string): Promise<WireServer> {
  await rm(path, { force: true }) // left by a process that died; the PGlite lock says we own the folder
  const sockets = new Set<Socket>()
  const server = createServer((socket) => {
    sockets.add(socket)
    const session = new Session(client, socket)
    socket.on('data', (chunk) => session.receive(chunk))
    socket.on('error', () => socket.destroy())
    socket.on('close', () => {
      sockets.delete(socket)
      void session.end()
    })
  })
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject)
    server.listen(path, () => resolve())
  })
  await chmod(path, 0o600)
  return {
    path,
    async close() {
      for (const socket of sockets) socket.destroy()
      await new Promise<void>((resolve) => server.close(() => resolve()))
      await rm(path, { force: true })
    },
  }
}

class Session {
  private buffer = Buffer.alloc(0)
  private started = false
  private queue: Promise<void> = Promise.resolve()
  private release: (() => void) | null = null

  constructor(
    private readonly client: PGlite,
    private readonly socket: Socket,
  ) {}

  receive(chunk: Buffer): void {
    this.buffer = Buffer.concat([this.buffer, chunk])
    for (let message = this.next(); message; message = this.next()) {
      const current = message
      this.queue = this.queue.then(() => this.handle(current)).catch(() => void this.socket.destroy())
    }
  }

  /** Runs after the socket closed: a transaction the client left open is rolled back, and PGlite freed. */
  async end(): Promise<void> {
    await this.queue
    if (!this.release) return
    if (this.client.isInTransaction()) await this.client._runExclusiveQuery(() => this.client.execProtocolRaw(simpleQuery('rollback'))).catch(() => undefined)
    this.letGo()
  }

  private next(): { type: string | null; bytes: Buffer } | null {
    const typed = this.started
    const header = typed ? 5 : 4
    if (this.buffer.length < header) return null
    const length = this.buffer.readInt32BE(typed ? 1 : 0) + (typed ? 1 : 0)
    if (this.buffer.length < length) return null
    const bytes = this.buffer.subarray(0, length)
    this.buffer = this.buffer.subarray(length)
    return { type: typed ? String.fromCharCode(bytes[0]!) : null, bytes }
  }

  private async handle({ type, bytes }: { type: string | null; bytes: Buffer }): Promise<void> {
    if (type === null) {
      const code = bytes.readInt32BE(4)
      if (code === SSL_REQUEST || code === GSSENC_REQUEST) return void this.socket.write('N')
      if (code === CANCEL_REQUEST) return void this.socket.end() // PGlite has no backend to signal
      this.started = true
    }
    if (type === 'X') return void this.socket.end()
    await this.hold()
    await this.client._runExclusiveQuery(() =>
      this.client.execProtocolRawStream(new Uint8Array(bytes), { onRawData: (data) => void this.socket.write(Buffer.from(data)) }),
    )
    // Between Parse/Bind/Execute and their Sync the statement's implicit transaction is still open.
    const idle = (type === null || type === 'Q' || type === 'S') && !this.client.isInTransaction()
    if (idle) this.letGo()
  }

  private async hold(): Promise<void> {
    if (this.release) return
    await new Promise<void>((acquired) => {
      void this.client._runExclusiveTransaction(
        () =>
          new Promise<void>((done) => {
            this.release = done
            acquired()
          }),
      )
    })
  }

  private letGo(): void {
    this.release?.()
    this.release = null
  }
}

function simpleQuery(text: string): Uint8Array {
  const body = Buffer.from(`${text}\0`, 'utf8')
  const message = Buffer.alloc(5 + body.length)
  message.write('Q', 0)
  message.writeInt32BE(4 + body.length, 1)
  body.copy(message, 5)
  return new Uint8Array(message)
}
