import { createServer, type Socket } from 'node:net'

/** A TCP port on 127.0.0.1 that accepts connections and never answers: a hung database server. */
export async function startBlackhole(): Promise<{ port: number; connected(): Promise<void>; close(): Promise<void> }> {
  const sockets = new Set<Socket>()
  let arrived: () => void = () => undefined
  const firstConnection = new Promise<void>((resolve) => (arrived = resolve))
  const server = createServer((socket) => {
    arrived()
    sockets.add(socket)
    socket.on('close', () => sockets.delete(socket))
    socket.on('error', () => undefined)
  })
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve))
  const address = server.address()
  if (address === null || typeof address === 'string') throw new Error('no TCP address')
  return {
    port: address.port,
    /** Resolves once something has connected. */
    connected: () => firstConnection,
    close: () =>
      new Promise((resolve) => {
        for (const socket of sockets) socket.destroy()
        server.close(() => resolve())
      }),
  }
}

/** A port on 127.0.0.1 where nothing listens (connections are refused). */
export async function closedPort(): Promise<number> {
  const server = createServer()
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve))
  const address = server.address()
  if (address === null || typeof address === 'string') throw new Error('no TCP address')
  await new Promise((resolve) => server.close(resolve))
  return address.port
}
