/**
 * An online backup of the embedded database, measured from outside: GET /api/db/backup on a
 * server whose database holds ~100 KB values that do not compress, while /health is probed every
 * 20 ms (the backup must not stall a liveness probe) and the server's RSS is sampled. Prints the
 * backup's time and size, the probes' worst wait and the RSS the backup added. Then, with the
 * server stopped, `npm run db -- backup` and `db restore` of the same database as their own
 * processes: time and peak RSS (their checks unpack the archive on disk, so the peak should not
 * follow the database's size). Run by `npm run bench` (bench/lib/extras.ts); prints plain lines.
 */
import { execFileSync, spawn } from 'node:child_process'
import { randomBytes } from 'node:crypto'
import { mkdtemp, rm, stat } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { SERVER_ENV, SERVER_NODE_FLAGS } from '../services/core/node-flags.js'
import { ROOT, rssOf, settledRssOf, startServer, stopAll } from './lib/processes.js'

const quick = process.argv.includes('--quick')
const VALUES = quick ? 50 : 800
const ROUNDS = quick ? 1 : 3
const TOKEN = 'bench-admin-token-0123456789abcdef'
const AUTH = { authorization: `Bearer ${TOKEN}` }
// Production's flags, then BENCH_NODE_ARGS: extra Node flags (a profiler's, say).
const nodeArgs = [...SERVER_NODE_FLAGS, ...(process.env.BENCH_NODE_ARGS ?? '').split(' ').filter(Boolean)]
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms))
const print = (line: string) => void process.stdout.write(`${line}\n`)

const dir = await mkdtemp(join(tmpdir(), 'groundwork-bench-backup-'))
try {
  const env = { ...SERVER_ENV, PERSISTENT_DATA_DIR: dir, LOG_LEVEL: 'warn', ADMIN_TOKEN: TOKEN, DB_TYPE: 'pglite', PGLITE_MAINTENANCE_INTERVAL_S: '0' }
  const server = await startServer('ours (pglite)', 'services/server.ts', { probe: '/ready', env, nodeArgs })
  for (let i = 0; i < VALUES; i++) {
    const res = await fetch(`${server.url}/api/kv/value-${i}`, { method: 'PUT', headers: { ...AUTH, 'content-type': 'application/json' }, body: JSON.stringify({ value: randomBytes(75_000).toString('base64') }) })
    if (res.status !== 200) throw new Error(`PUT /api/kv/value-${i} answered ${res.status}: ${await res.text()}`)
  }
  const before = (await settledRssOf(server.child.pid!)).rssMb
  print(`GET /api/db/backup (pglite), ${VALUES} values of 100 KB that do not compress, ${ROUNDS} round(s); server RSS before: ${before} MB`)
  for (let round = 0; round < ROUNDS; round++) {
    const probes: number[] = []
    let peak = before
    let done = false
    const probing = (async () => {
      while (!done) {
        const start = performance.now()
        await (await fetch(`${server.url}/health`)).arrayBuffer()
        probes.push(performance.now() - start)
        peak = Math.max(peak, rssOf(server.child.pid!)?.rssMb ?? 0)
        await sleep(20)
      }
    })()
    const start = performance.now()
    const res = await fetch(`${server.url}/api/db/backup`, { headers: AUTH })
    const bytes = (await res.arrayBuffer()).byteLength
    const ms = performance.now() - start
    done = true
    await probing
    if (res.status !== 200) throw new Error(`GET /api/db/backup answered ${res.status}`)
    const slow = probes.filter((p) => p > 100).length
    print(`  round ${round + 1}: ${Math.round(ms)} ms, ${(bytes / 1024 / 1024).toFixed(1)} MB; /health ${probes.length} probes, worst ${Math.round(Math.max(...probes))} ms, ${slow} over 100 ms; RSS peak +${peak - before} MB`)
  }
  await server.stop()

  const folder = folderMb(join(dir, 'pglite'))
  const file = join(dir, 'cli-backup.tar.gz')
  const backup = await cli(['backup', file], env)
  const restore = await cli(['restore', file], env)
  print(`db backup, server stopped (${folder} MB folder): ${Math.round(backup.ms)} ms, ${((await stat(file)).size / 1024 / 1024).toFixed(1)} MB, peak RSS ${backup.peakMb} MB`)
  print(`db restore of it: ${Math.round(restore.ms)} ms, peak RSS ${restore.peakMb} MB`)
} finally {
  await stopAll()
  await rm(dir, { recursive: true, force: true })
}

/** The size of a folder in MB, as du counts it. */
function folderMb(folder: string): number {
  return Number(execFileSync('du', ['-sm', folder], { encoding: 'utf8' }).split('\t')[0])
}

/** `npm run db -- <args>` as its own process: time, and peak RSS (VmHWM, sampled until it exits). */
async function cli(args: string[], env: Record<string, string>): Promise<{ ms: number; peakMb: number }> {
  const start = performance.now()
  const child = spawn(process.execPath, ['--import', 'tsx', 'services/database/cli/main.ts', ...args], { cwd: ROOT, env: { ...process.env, ...env }, stdio: ['ignore', 'pipe', 'pipe'] })
  let output = ''
  child.stdout.on('data', (chunk: Buffer) => void (output += chunk.toString()))
  child.stderr.on('data', (chunk: Buffer) => void (output += chunk.toString()))
  let peakMb = 0
  // Once the process has exited and not yet been reaped, its status has no memory lines (NaN).
  const sampling = setInterval(() => void (peakMb = Math.max(peakMb, rssOf(child.pid!)?.peakMb || 0)), 20)
  const code = await new Promise<number | null>((resolve) => child.once('exit', resolve))
  clearInterval(sampling)
  if (code !== 0) throw new Error(`npm run db -- ${args.join(' ')} exited with ${code}: ${output}`)
  return { ms: performance.now() - start, peakMb }
}
