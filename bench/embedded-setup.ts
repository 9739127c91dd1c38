/**
 * The embedded database's first setup, measured from outside: POST /api/db/setup (pglite) on an
 * unconfigured server while /health is probed every 50 ms (a liveness probe must never wait
 * 1 s), the server's RSS (peak and settled), and its idle RSS after a restart. Run by
 * `npm run bench` (bench/lib/extras.ts); prints plain lines.
 */
import { mkdtemp, rm } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { SERVER_NODE_FLAGS } from '../services/core/node-flags.js'
import { rssOf, startServer, stopAll } from './lib/processes.js'

const quick = process.argv.includes('--quick')
const ROUNDS = quick ? 1 : 3
const SETTLE_MS = quick ? 1_000 : 5_000
// Production's flags, then BENCH_NODE_ARGS: extra Node flags, to compare memory settings.
const nodeArgs = [...SERVER_NODE_FLAGS, ...(process.env.BENCH_NODE_ARGS ?? '').split(' ').filter(Boolean)]
const TOKEN = 'bench-admin-token-0123456789abcdef'
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms))

interface Round {
  setupMs: number
  peakMb: number
  settledMb: number
  probes: number[]
  idleMb: number
}

async function round(): Promise<Round> {
  const dir = await mkdtemp(join(tmpdir(), 'groundwork-bench-embedded-'))
  try {
    const env = { PERSISTENT_DATA_DIR: dir, LOG_LEVEL: 'warn', ADMIN_TOKEN: TOKEN }
    const server = await startServer('ours (unconfigured)', 'services/server.ts', { probe: '/health', env, nodeArgs })
    const probes: number[] = []
    let done = false
    const probing = (async () => {
      while (!done) {
        const start = performance.now()
        await fetch(`${server.url}/health`).then((r) => r.arrayBuffer())
        probes.push(performance.now() - start)
        await sleep(50)
      }
    })()
    const start = performance.now()
    const res = await fetch(`${server.url}/api/db/setup`, { method: 'POST', headers: { 'content-type': 'application/json', authorization: `Bearer ${TOKEN}` }, body: JSON.stringify({ type: 'pglite' }) })
    const setupMs = performance.now() - start
    done = true
    await probing
    if (res.status !== 200) throw new Error(`POST /api/db/setup (pglite) answered ${res.status}: ${await res.text()}`)
    await sleep(SETTLE_MS)
    const { rssMb: settledMb, peakMb } = rssOf(server.child.pid!)!
    await server.stop()
    const again = await startServer('ours (pglite, restarted)', 'services/server.ts', { probe: '/ready', env, nodeArgs })
    await sleep(SETTLE_MS)
    const idleMb = rssOf(again.child.pid!)!.rssMb
    await again.stop()
    return { setupMs, peakMb, settledMb, probes, idleMb }
  } finally {
    await rm(dir, { recursive: true, force: true })
  }
}

const print = (line: string) => void process.stdout.write(`${line}\n`)
const median = (values: number[]) => [...values].sort((a, b) => a - b)[Math.floor(values.length / 2)]!
try {
  const rounds: Round[] = []
  for (let i = 0; i < ROUNDS; i++) rounds.push(await round())
  const probes = rounds.flatMap((r) => r.probes)
  const slow = probes.filter((ms) => ms > 100).length
  print(`POST /api/db/setup (pglite), ${ROUNDS} round(s), medians:`)
  print(`  setup time            ${Math.round(median(rounds.map((r) => r.setupMs)))} ms (each: ${rounds.map((r) => Math.round(r.setupMs)).join(', ')})`)
  print(`  server RSS peak       ${median(rounds.map((r) => r.peakMb))} MB`)
  print(`  server RSS settled    ${median(rounds.map((r) => r.settledMb))} MB`)
  print(`  idle RSS, restarted   ${median(rounds.map((r) => r.idleMb))} MB`)
  print(`  /health during setup  ${probes.length} probes, worst ${Math.round(Math.max(...probes))} ms, ${slow} over 100 ms`)
} finally {
  await stopAll()
}
