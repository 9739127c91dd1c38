import { existsSync, rmSync } from 'node:fs'
import { constants } from 'node:os'

/**
 * Half-written files and folders that a command-line process removes when it is interrupted.
 *
 * Node's default for SIGINT (Ctrl-C), SIGTERM (a container or a job runner stopping it) and SIGHUP
 * (its terminal closed) is to exit at once and run nothing. A `db backup` interrupted that way left
 * its temp file and the folder it was checking the copy in beside the backup, together as large as
 * the database and under names carrying its PID, which no later run looks for. While a path is
 * registered, these signals remove it, say so on stderr, and exit as the signal would have
 * (128 + its number); with nothing registered Node's default stands.
 *
 * Only a process that called enableInterruptCleanup() does this: the db CLI. The server never
 * does, since it shuts down through graceful-close, which an exit from here would cut short.
 */
const SIGNALS = ['SIGINT', 'SIGTERM', 'SIGHUP'] as const

let enabled = false
const registered = new Set<{ path: string }>()

export function enableInterruptCleanup(): void {
  enabled = true
}

/** Removes `path` (a file or a folder) if the process is interrupted before the returned function is called. */
export function removeIfInterrupted(path: string): () => void {
  if (!enabled) return () => undefined
  const entry = { path }
  if (registered.size === 0) for (const signal of SIGNALS) process.on(signal, onSignal)
  registered.add(entry)
  return () => {
    if (!registered.delete(entry) || registered.size > 0) return
    for (const signal of SIGNALS) process.off(signal, onSignal)
  }
}

function onSignal(signal: NodeJS.Signals): void {
  const removed: string[] = []
  const failed: string[] = []
  // Synchronously: the process ends right after, whatever its promises were waiting for.
  for (const { path } of registered) {
    if (!existsSync(path)) continue
    try {
      rmSync(path, { recursive: true, force: true })
      removed.push(path)
    } catch (error) {
      failed.push(`${path} (${(error as NodeJS.ErrnoException).code ?? (error as Error).message})`)
    }
  }
  const lines = [`interrupted (${signal})${removed.length > 0 ? `: removed what it had not finished: ${removed.join(', ')}` : ''}.`]
  if (failed.length > 0) lines.push(`Could not remove ${failed.join(', ')}: it is unfinished, remove it by hand.`)
  process.stderr.write(`${lines.join('\n')}\n`)
  process.exit(128 + constants.signals[signal])
}
