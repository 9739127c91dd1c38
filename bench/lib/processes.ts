import { spawn, type ChildProcess } from 'node:child_process'
import { readFileSync } from 'node:fs'
import { createServer } from 'node:net'
import { join } from 'node:path'
import { findProjectRoot } from '../../services/core/project-root.js'

export const ROOT = findProjectRoot()

/** Compiles the server into dist/, as `npm run build` does (the image and start:built run it). */
export async function buildServer(): Promise<void> {
  await new Promise<void>((resolve, reject) => {
    const child = spawn(process.execPath, [join(ROOT, 'node_modules/typescript/bin/tsc'), '-p', 'tsconfig.build.json'], { cwd: ROOT, stdio: ['ignore', 'pipe', 'pipe'] })
    let output = ''
    child.stdout!.on('data', (chunk: Buffer) => (output += chunk.toString()))
    child.stderr!.on('data', (chunk: Buffer) => (output += chunk.toString()))
    child.once('error', reject)
    child.once('exit', (code) => (code === 0 ? resolve() : reject(new Error(`npm run build (tsc -p tsconfig.build.json) failed with exit code ${code}:\n${output}`))))
  })
}

export interface Server {
  name: string
  url: string
  child: ChildProcess
  /** ms from spawn to the first answer of the awaited probe. */
  startMs: number
  stop(): Promise<void>
}

const running = new Set<Server>()

/** /proc/<pid>/stat counts CPU time in clock ticks of 1/100 s (USER_HZ, fixed at 100 in Linux's ABI). */
const TICKS_PER_SECOND = 100

/**
 * CPU time (user + system) the process has used so far, in µs, from /proc/<pid>/stat; null where
 * there is no /proc. The fields after the command name (which may hold spaces) are read by position.
 */
export function cpuUsOf(pid: number): number | null {
  try {
    const stat = readFileSync(`/proc/${pid}/stat`, 'utf8')
    const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ')
    // utime and stime are fields 14 and 15 of the line, 12 and 13 after the command name and the state.
    return ((Number(fields[11]) + Number(fields[12])) * 1_000_000) / TICKS_PER_SECOND
  } catch {
    return null
  }
}

export async function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const server = createServer()
    server.once('error', reject)
    server.listen(0, '127.0.0.1', () => {
      const { port } = server.address() as { port: number }
      server.close(() => resolve(port))
    })
  })
}

export interface StartOptions {
  /** Path of the probe that must answer 200 before the server counts as started. */
  probe: '/health' | '/ready'
  env: Record<string, string>
  /** Extra `--import` modules, e.g. the pool-wait probe. */
  imports?: string[]
  /** Extra Node flags, e.g. --cpu-prof. */
  nodeArgs?: string[]
  /** `file` is compiled JavaScript (dist/): run without tsx's loader, as start:built and the image do. */
  compiled?: boolean
  timeoutMs?: number
}

/** How many ports startServer tries when the free one it picked was taken before the server bound it. */
const PORT_ATTEMPTS = 3

class PortTaken extends Error {}

/**
 * Starts `file` (relative to the project) with this Node and tsx's loader (unless compiled), on
 * 127.0.0.1 and a free port. The port is free when picked but not reserved: should another process
 * bind it first, the server exits with EADDRINUSE and another port is tried.
 */
export async function startServer(name: string, file: string, options: StartOptions): Promise<Server> {
  for (let attempt = 1; ; attempt++) {
    try {
      return await startOnPort(await freePort(), name, file, options)
    } catch (error) {
      if (!(error instanceof PortTaken) || attempt >= PORT_ATTEMPTS) throw error
    }
  }
}

async function startOnPort(port: number, name: string, file: string, options: StartOptions): Promise<Server> {
  const url = `http://127.0.0.1:${port}`
  const args = [...(options.nodeArgs ?? []), ...(options.compiled ? [] : ['--import', 'tsx']), ...(options.imports ?? []).flatMap((m) => ['--import', m]), join(ROOT, file)]
  const start = performance.now()
  const child = spawn(process.execPath, args, {
    cwd: ROOT,
    env: { PATH: process.env.PATH ?? '', ...options.env, PORT: String(port), HOST: '127.0.0.1' },
    stdio: ['ignore', 'pipe', 'pipe'],
  })
  const tail: string[] = []
  const keep = (chunk: Buffer) => {
    tail.push(...chunk.toString().split('\n').filter(Boolean))
    tail.splice(0, Math.max(0, tail.length - 15))
  }
  child.stdout!.on('data', keep)
  child.stderr!.on('data', keep)
  const exited = new Promise<void>((resolve) => child.once('exit', () => resolve()))
  // After 'exit', once its output has been read to the end.
  const closed = new Promise<void>((resolve) => child.once('close', () => resolve()))
  const server: Server = {
    name,
    url,
    child,
    startMs: 0,
    async stop() {
      running.delete(server)
      if (child.exitCode !== null || child.signalCode !== null) return
      child.kill('SIGTERM')
      const timer = setTimeout(() => child.kill('SIGKILL'), 12_000)
      await exited
      clearTimeout(timer)
    },
  }
  running.add(server)
  const deadline = start + (options.timeoutMs ?? 120_000)
  for (;;) {
    if (child.exitCode !== null) {
      await closed
      const Failure = tail.some((line) => line.includes('EADDRINUSE')) ? PortTaken : Error
      running.delete(server)
      throw new Failure(`${name} (${file}) exited with code ${child.exitCode} before answering ${options.probe}:\n${tail.join('\n')}`)
    }
    const status = await fetch(url + options.probe).then((r) => r.status, () => 0)
    if (status === 200) break
    if (performance.now() > deadline) {
      await server.stop()
      throw new Error(`${name} (${file}) did not answer ${options.probe} with 200 within ${options.timeoutMs ?? 120_000} ms (last status ${status}):\n${tail.join('\n')}`)
    }
    await new Promise((r) => setTimeout(r, 5))
  }
  server.startMs = performance.now() - start
  return server
}

export async function stopAll(): Promise<void> {
  await Promise.allSettled([...running].map((s) => s.stop()))
}

/** Current and peak resident memory of a process, in MB (Linux /proc). */
export function rssOf(pid: number): { rssMb: number; peakMb: number } | null {
  try {
    const status = readFileSync(`/proc/${pid}/status`, 'utf8')
    const field = (name: string) => Number(new RegExp(`^${name}:\\s+(\\d+) kB`, 'm').exec(status)?.[1] ?? NaN) / 1024
    return { rssMb: Math.round(field('VmRSS')), peakMb: Math.round(field('VmHWM')) }
  } catch {
    return null
  }
}

/**
 * RSS once it has settled: right after start, V8 is still compiling PGlite's WASM with its
 * optimizing tier, which holds several hundred MB for a few seconds. Samples every 500 ms until
 * two seconds pass without a change of more than 2 MB (at most `maxMs`).
 */
export async function settledRssOf(pid: number, maxMs = 30_000): Promise<{ rssMb: number; peakMb: number }> {
  const started = performance.now()
  let last = rssOf(pid)
  let stableSince = performance.now()
  while (last && performance.now() - started < maxMs) {
    await new Promise((resolve) => setTimeout(resolve, 500))
    const now = rssOf(pid)
    if (!now) break
    if (Math.abs(now.rssMb - last.rssMb) > 2) stableSince = performance.now()
    else if (performance.now() - stableSince >= 2_000) return now
    last = now
  }
  if (!last) throw new Error(`process ${pid} is gone: cannot read its memory`)
  return last
}
