import { connect, createServer, type Server, type Socket } from 'node:net'

export interface TcpProxy {
  port: number
  /** Like a stopped server: every connection is dropped and new ones are refused. */
  cut(): Promise<void>
  /** Like a hung server: connections stay open (and new ones are accepted) but nothing passes. */
  freeze(): void
  /** Back to forwarding; connections that were frozen are dropped, as a restarted server would. */
  restore(): Promise<void>
  close(): Promise<void>
}

/**
 * A TCP proxy on 127.0.0.1 in front of a real server, to take that server away from one app
 * without stopping it for everyone else.
 */
export async function startTcpProxy(targetHost: string, targetPort: number): Promise<TcpProxy> {
  const sockets = new Set<Socket>()
  let frozen = false
  let server: Server | null = null
  let port = 0

  const track = (socket: Socket) => {
    sockets.add(socket)
    socket.on('close', () => sockets.delete(socket))
    socket.on('error', () => undefined)
  }

  const onConnection = (client: Socket) => {
    track(client)
    if (frozen) return
    const upstream = connect(targetPort, targetHost)
    track(upstream)
    const forward = (from: Socket, to: Socket) =>
      from.on('data', (chunk: Buffer) => {
        if (!frozen) to.write(chunk)
      })
    forward(client, upstream)
    forward(upstream, client)
    client.on('close', () => upstream.destroy())
    upstream.on('close', () => client.destroy())
  }

  const listen = () =>
    new Promise<void>((resolve, reject) => {
      server = createServer(onConnection)
      server.once('error', reject)
      server.listen(port, '127.0.0.1', () => {
        const address = server!.address()
        if (address === null || typeof address === 'string') return reject(new Error('no TCP address'))
        port = address.port
        resolve()
      })
    })

  const dropAll = () => {
    for (const socket of sockets) socket.destroy()
  }

  const stop = () =>
    new Promise<void>((resolve) => {
      dropAll()
      if (!server) return resolve()
      server.close(() => resolve())
      server = null
    })

  await listen()
  return {
    get port() {
      return port
    },
    cut: stop,
    freeze() {
      frozen = true
    },
    async restore() {
      if (frozen) {
        frozen = false
        dropAll()
      }
      if (!server) await listen()
    },
    close: stop,
  }
}
