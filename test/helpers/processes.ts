import { spawn, type ChildProcess } from 'node:child_process'
import { readFile, readdir, readlink } from 'node:fs/promises'
import { join } from 'node:path'
import { setTimeout as sleep } from 'node:timers/promises'
import { findProjectRoot } from '../../services/core/project-root.js'

export interface Exit {
  code: number | null
  signal: NodeJS.Signals | null
}

export interface Running {
  child: ChildProcess
  /** stdout and stderr, as written so far. */
  output(): string
  exited: Promise<Exit>
  /** SIGTERM, then the exit (SIGKILL after the deadline, so no child outlives the tests). */
  stop(deadlineMs?: number): Promise<Exit>
  /** The same with another signal (SIGINT is what Ctrl-C sends). */
  signal(name: NodeJS.Signals, deadlineMs?: number): Promise<Exit>
}

/** Runs argv (a Dockerfile exec form; "node" is this Node) in cwd with exactly `env`, nothing inherited but PATH. */
export function run(argv: string[], cwd: string, env: Record<string, string>): Running {
  const [command, ...args] = argv
  const child = spawn(command === 'node' ? process.execPath : command!, args, {
    cwd,
    env: { PATH: process.env.PATH ?? '/usr/bin:/bin', ...env },
    stdio: ['ignore', 'pipe', 'pipe'],
  })
  let text = ''
  child.stdout!.on('data', (chunk: Buffer) => (text += chunk.toString()))
  child.stderr!.on('data', (chunk: Buffer) => (text += chunk.toString()))
  const exited = new Promise<Exit>((resolve) => child.on('exit', (code, signal) => resolve({ code, signal })))
  const signal = async (name: NodeJS.Signals, deadlineMs: number) => {
    if (child.exitCode === null && child.signalCode === null) child.kill(name)
    const timer = setTimeout(() => child.kill('SIGKILL'), deadlineMs)
    try {
      return await exited
    } finally {
      clearTimeout(timer)
    }
  }
  return {
    child,
    output: () => text,
    exited,
    stop: (deadlineMs = 15_000) => signal('SIGTERM', deadlineMs),
    signal: (name, deadlineMs = 30_000) => signal(name, deadlineMs),
  }
}

/** Polls `check` until it returns a value, the process exits, or the deadline passes; each failure says why. */
export async function waitFor<T>(what: string, running: Running, deadlineMs: number, check: () => Promise<T | undefined>, everyMs = 200): Promise<T> {
  const deadline = Date.now() + deadlineMs
  let exit: Exit | null = null
  void running.exited.then((value) => (exit = value))
  for (;;) {
    const value = await check().catch(() => undefined)
    if (value !== undefined) return value
    if (exit) throw new Error(`The process exited (${JSON.stringify(exit)}) before ${what}. Its output:\n${running.output()}`)
    if (Date.now() > deadline) throw new Error(`No ${what} within ${deadlineMs} ms. The output so far:\n${running.output()}`)
    await sleep(everyMs)
  }
}

/** For waitFor: the name of an entry of `dir` that matches `pattern`, if one does now. */
export function entryIn(dir: string, pattern: RegExp): () => Promise<string | undefined> {
  return async () => (await readdir(dir)).find((name) => pattern.test(name))
}

/** The address from Fastify's "Server listening at http://…" log line (PORT=0 picks a free port). */
export function listeningAt(output: string): string | undefined {
  return /Server listening at (http:\/\/[^\s"]+)/.exec(output)?.[1]
}

export const ROOT = findProjectRoot()

/** Runs a TypeScript entry point of this project the way its npm scripts do (through tsx). */
export function runTs(entry: string, env: Record<string, string>, args: string[] = []): Running {
  return run(['node', '--import', 'tsx', join(ROOT, entry), ...args], ROOT, { HOME: process.env.HOME ?? '/tmp', ...env })
}

/**
 * The children of `parent` (this process by default) that are creating an embedded database (Linux /proc).
 * A zombie (exited, not yet reaped) has no command line, so it is not listed: ask /proc/<pid> for that.
 */
export async function creatingChildren(parent = process.pid): Promise<number[]> {
  const pids: number[] = []
  for (const name of await readdir('/proc')) {
    if (!/^\d+$/.test(name)) continue
    try {
      const stat = await readFile(`/proc/${name}/stat`, 'utf8')
      const ppid = Number(stat.slice(stat.lastIndexOf(')') + 2).split(' ')[1])
      if (ppid === parent && (await readFile(`/proc/${name}/cmdline`, 'utf8')).includes('pglite-create-child')) pids.push(Number(name))
    } catch {
      // Gone meanwhile.
    }
  }
  return pids
}

/** The files this process holds open under dir (a removed file shows as "… (deleted)"). */
export async function openFilesUnder(dir: string): Promise<string[]> {
  const links = await Promise.all((await readdir('/proc/self/fd')).map((fd) => readlink(`/proc/self/fd/${fd}`).catch(() => '')))
  return links.filter((link) => link.startsWith(`${dir}/`))
}
