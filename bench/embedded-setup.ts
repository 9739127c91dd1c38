/**
 * The embedded database's first setup, measured from outside: POST /api/db/setup (pglite) on an
 * unconfigured server while /health is probed every 50 ms (a liveness probe must never wait
 * 1 s), the server's RSS (while it waits with the preparation finished; peak and settled after the
 * setup), and its idle RSS after a restart. Three cases:
 * without the background preparation (PGLITE_PREPARE=false: the setup creates the database);
 * right after the server answers (the setup waits for the preparation it started); and once the
 * preparation has finished (a person who took a few seconds in the wizard). Run by `npm run bench`
 * (bench/lib/extras.ts); prints plain lines.
 */
import { access, mkdtemp, rm } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { SERVER_ENV, SERVER_NODE_FLAGS } from '../services/core/node-flags.js'
import { settledRssOf, startServer, stopAll } from './lib/processes.js'

const quick = process.argv.includes('--quick')
const ROUNDS = quick ? 1 : 3
// Production's flags, then BENCH_NODE_ARGS: extra Node flags, to compare memory settings.
const nodeArgs = [...SERVER_NODE_FLAGS, ...(process.env.BENCH_NODE_ARGS ?? '').split(' ').filter(Boolean)]
const TOKEN = 'bench-admin-token-0123456789abcdef'
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms))

const CASES = {
  off: { title: 'PGLITE_PREPARE=false (the setup creates the database)', prepare: 'false', waitForPreparation: false },
  early: { title: 'right after the server answers (the setup waits for the preparation)', prepare: 'true', waitForPreparation: false },
  prepared: { title: 'once the background preparation has finished', prepare: 'true', waitForPreparation: true },
} as const
type Case = keyof typeof CASES

interface Round {
  /** Settled RSS of the unconfigured server once its preparation has finished, before the setup (that case only). */
  waitingMb: number | null
  setupMs: number
  peakMb: number
  settledMb: number
  probes: number[]
  idleMb: number
}

async function round(which: Case): Promise<Round> {
  const dir = await mkdtemp(join(tmpdir(), 'groundwork-bench-embedded-'))
  try {
    const env = { ...SERVER_ENV, PERSISTENT_DATA_DIR: dir, LOG_LEVEL: 'warn', ADMIN_TOKEN: TOKEN, PGLITE_PREPARE: CASES[which].prepare }
    const server = await startServer('ours (unconfigured)', 'services/server.ts', { probe: '/health', env, nodeArgs })
    // The server's warnings and errors (LOG_LEVEL=warn), to say why a round failed.
    let output = ''
    for (const stream of [server.child.stdout!, server.child.stderr!]) stream.on('data', (chunk: Buffer) => (output = (output + chunk.toString()).slice(-4_000)))
    const failed = (what: string) => new Error(`${CASES[which].title}: ${what}. The server's output:\n${output}`)
    if (CASES[which].waitForPreparation) {
      // The stamp is the preparation's last write.
      for (let waited = 0; !(await access(join(dir, 'pglite.prepared', 'stamp.json')).then(() => true, () => false)); waited += 100) {
        if (waited > 180_000 || server.child.exitCode !== null) throw failed('the background preparation did not finish within 180 s')
        await sleep(100)
      }
    }
    // What a server waiting in the wizard holds (the engine compiled whole among it).
    const waitingMb = CASES[which].waitForPreparation ? (await settledRssOf(server.child.pid!)).rssMb : null
    const probes: number[] = []
    let done = false
    const probing = (async () => {
      while (!done) {
        const start = performance.now()
        await fetch(`${server.url}/health`).then(
          (r) => r.arrayBuffer(),
          (error: unknown) => {
            done = true
            throw failed(`/health failed (${String(error)})`)
          },
        )
        probes.push(performance.now() - start)
        await sleep(50)
      }
    })()
    const start = performance.now()
    const res = await fetch(`${server.url}/api/db/setup`, { method: 'POST', headers: { 'content-type': 'application/json', authorization: `Bearer ${TOKEN}` }, body: JSON.stringify({ type: 'pglite' }) }).catch((error: unknown) => {
      throw failed(`POST /api/db/setup failed (${String(error)})`)
    })
    const setupMs = performance.now() - start
    done = true
    await probing
    if (res.status !== 200) throw failed(`POST /api/db/setup (pglite) answered ${res.status}: ${await res.text()}`)
    const { rssMb: settledMb, peakMb } = await settledRssOf(server.child.pid!)
    await server.stop()
    const again = await startServer('ours (pglite, restarted)', 'services/server.ts', { probe: '/ready', env, nodeArgs })
    const idleMb = (await settledRssOf(again.child.pid!)).rssMb
    await again.stop()
    return { waitingMb, setupMs, peakMb, settledMb, probes, idleMb }
  } finally {
    await rm(dir, { recursive: true, force: true })
  }
}

const print = (line: string) => void process.stdout.write(`${line}\n`)
const median = (values: number[]) => [...values].sort((a, b) => a - b)[Math.floor(values.length / 2)]!
try {
  // Interleaved, so that a change in the machine's load touches every case alike.
  const rounds: Record<Case, Round[]> = { off: [], early: [], prepared: [] }
  for (let i = 0; i < ROUNDS; i++) for (const which of Object.keys(CASES) as Case[]) rounds[which].push(await round(which))
  print(`POST /api/db/setup (pglite), ${ROUNDS} round(s) of each case, medians:`)
  for (const which of Object.keys(CASES) as Case[]) {
    const of = rounds[which]
    const probes = of.flatMap((r) => r.probes)
    const slow = probes.filter((ms) => ms > 100).length
    print(`${CASES[which].title}:`)
    const waiting = of.flatMap((r) => (r.waitingMb === null ? [] : [r.waitingMb]))
    if (waiting.length > 0) print(`  server RSS waiting    ${median(waiting)} MB (unconfigured, the preparation finished, before the setup)`)
    print(`  setup time            ${Math.round(median(of.map((r) => r.setupMs)))} ms (each: ${of.map((r) => Math.round(r.setupMs)).join(', ')})`)
    print(`  server RSS peak       ${median(of.map((r) => r.peakMb))} MB`)
    print(`  server RSS settled    ${median(of.map((r) => r.settledMb))} MB`)
    print(`  idle RSS, restarted   ${median(of.map((r) => r.idleMb))} MB`)
    print(`  /health during setup  ${probes.length} probes, worst ${Math.round(Math.max(...probes))} ms, ${slow} over 100 ms`)
  }
} finally {
  await stopAll()
}
