import { fork } from 'node:child_process'
import { fileURLToPath } from 'node:url'
import { PGlite } from '@electric-sql/pglite'
import type { Config, PgliteConfig } from '../core/config.js'
import { ServiceError } from '../core/errors.js'

/** How long initdb may take in the child before it counts as hung (it takes 2–4 s here, more on a loaded machine). */
const CREATE_TIMEOUT_MS = 180_000

/** PGlite's own start parameters plus ours: without the defaults PGlite does not start. */
export function pgliteStartParams(config: PgliteConfig): string[] {
  // wal_recycle=off: a checkpoint removes the WAL segments it no longer needs instead of keeping
  // them for reuse. Kept, they were as much WAL as was written between checkpoints (80 MB after
  // 60 MB of writes, min_wal_size notwithstanding), and every backup (dumpDataDir) carried them:
  // 109 MB gzipped instead of 59 MB, 6.2 s instead of 3.8 s with queries held. The cost: a new
  // segment is zero-filled when needed, ~50 ms once per 16 MB of WAL (worst write 56–103 ms
  // against 10–79 ms, same total time).
  return [...PGlite.defaultStartParams, '-c', `shared_buffers=${config.sharedBuffers}`, '-c', 'wal_recycle=off']
}

/**
 * Creates a PGlite data folder (initdb) and applies the migrations in a child process, so that the
 * server neither holds their memory afterwards (~900 MB that PGlite never returns; opening the
 * finished folder costs a fraction) nor blocks its event loop for seconds while probes wait.
 * Resolves to the tags it applied; the server then migrates as on every start and finds nothing pending.
 * Aborting `signal`, or `timeoutMs` (3 minutes by default) passing, kills the child; the promise
 * rejects once it is gone (what it wrote in dataDir is then the caller's to remove).
 */
export async function createPgliteDataDir(dataDir: string, config: Config, options: { signal?: AbortSignal; timeoutMs?: number } = {}): Promise<string[]> {
  const timeoutMs = options.timeoutMs ?? CREATE_TIMEOUT_MS
  const child = fileURLToPath(new URL(`./pglite-create-child${import.meta.url.endsWith('.ts') ? '.ts' : '.js'}`, import.meta.url))
  // Under tsx (npm start, tests) the child is TypeScript too; the built server runs plain .js.
  const execArgv = child.endsWith('.ts') ? ['--import', 'tsx'] : []
  const process = fork(child, [dataDir, JSON.stringify(pgliteStartParams(config.pglite)), config.migrationsFolder], { execArgv, stdio: ['ignore', 'ignore', 'pipe', 'ipc'], signal: options.signal, killSignal: 'SIGKILL' })
  let stderr = ''
  let failure: { message?: string; code?: string; errno?: number; service?: boolean; details?: Record<string, unknown> } | undefined
  let applied: string[] = []
  process.on('message', (message: { applied?: string[]; failure?: typeof failure }) => {
    if (message.applied) applied = message.applied
    if (message.failure) failure = message.failure
  })
  process.stderr?.setEncoding('utf8').on('data', (chunk: string) => (stderr = (stderr + chunk).slice(-4_000)))
  await new Promise<void>((resolve, reject) => {
    // Set when we stop the child (timeout, abort): the promise settles with it only once the child
    // has closed, so the caller never removes the folder under a child still running, or leaves a zombie.
    let stopped: Error | undefined
    const timer = setTimeout(() => {
      stopped ??= new Error(`creating the data folder took over ${timeoutMs / 1000} s and was stopped`)
      process.kill('SIGKILL')
    }, timeoutMs)
    process.once('error', (error) => {
      // The abort signal: Node has sent killSignal already, 'close' follows once the child is reaped.
      if (process.pid !== undefined && process.exitCode === null && process.signalCode === null) {
        stopped ??= error
        return
      }
      clearTimeout(timer)
      reject(error)
    })
    // 'close', not 'exit': by then every message the child sent has arrived.
    process.once('close', (code, signal) => {
      clearTimeout(timer)
      if (stopped) reject(stopped)
      else if (code === 0) resolve()
      else if (failure?.service && failure.code && failure.message) reject(new ServiceError(failure.code, failure.message, { details: failure.details }))
      else reject(Object.assign(new Error(failure?.message || stderr.trim() || (signal ? `the process creating it was killed (${signal})` : `the process creating it exited with code ${code}`)), { code: failure?.code, errno: failure?.errno }))
    })
  })
  return applied
}
