import { spawn, type ChildProcessWithoutNullStreams } from 'node:child_process'
import { join } from 'node:path'
import { findProjectRoot } from '../../services/core/project-root.js'

export const ROOT = findProjectRoot()

export interface Running {
  child: ChildProcessWithoutNullStreams
  output(): string
  exited: Promise<number | null>
}

/** Runs a TypeScript entry point the way npm scripts do (tsx), with a clean environment plus `env`. */
export function runTs(entry: string, env: Record<string, string>): Running {
  const child = spawn(process.execPath, ['--import', 'tsx', join(ROOT, entry)], {
    cwd: ROOT,
    env: { PATH: process.env.PATH ?? '', HOME: process.env.HOME ?? '/tmp', ...env },
  })
  let text = ''
  child.stdout.on('data', (chunk) => (text += chunk))
  child.stderr.on('data', (chunk) => (text += chunk))
  const exited = new Promise<number | null>((resolve) => child.on('exit', (code) => resolve(code)))
  return { child, output: () => text, exited }
}

/** Waits for a line of output to match, up to a deadline; the output so far goes in the error. */
export async function waitForOutput(running: Running, pattern: RegExp, deadlineMs = 30_000): Promise<RegExpMatchArray> {
  const deadline = Date.now() + deadlineMs
  for (;;) {
    const match = running.output().match(pattern)
    if (match) return match
    if (Date.now() > deadline || running.child.exitCode !== null) {
      throw new Error(`output never matched ${pattern}; it was:\n${running.output()}`)
    }
    await new Promise((resolve) => setTimeout(resolve, 50))
  }
}
