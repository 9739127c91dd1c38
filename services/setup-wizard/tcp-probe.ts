import { createConnection } from 'node:net'
import { performance } from 'node:perf_hooks'

export type ProbeResult = { ok: true; ms: number } | { ok: false; ms: number; code: string }

/**
 * Opens and closes one TCP connection (or Unix socket, for a host that is a folder path, as libpq
 * allows) to tell "nothing listens there" apart from "PostgreSQL refused us" before any login.
 */
export function probeTcp(host: string, port: number, timeoutMs: number): Promise<ProbeResult> {
  const started = performance.now()
  const elapsed = () => Math.round(performance.now() - started)
  return new Promise((resolve) => {
    const socket = host.startsWith('/') ? createConnection({ path: `${host.replace(/\/$/, '')}/.s.PGSQL.${port}` }) : createConnection({ host, port })
    const finish = (result: ProbeResult) => {
      clearTimeout(timer)
      socket.destroy()
      resolve(result)
    }
    const timer = setTimeout(() => finish({ ok: false, ms: elapsed(), code: 'ETIMEDOUT' }), timeoutMs)
    socket.once('connect', () => finish({ ok: true, ms: elapsed() }))
    socket.once('error', (error: NodeJS.ErrnoException) => finish({ ok: false, ms: elapsed(), code: error.code ?? error.message }))
  })
}
