/**
 * `npm run bench [-- --quick]`: our routes against hand-written baselines, each server its own
 * process on 127.0.0.1, driven by autocannon from this process. Pairs run interleaved (A B A B …)
 * and are reported as ratios, since absolute numbers drift on shared machines. Prints one table
 * and writes it, with the machine and versions, to bench/results.json.
 */
import { cp, mkdtemp, rm, writeFile } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { createTestDatabase, postgresReachable, type TestDatabase } from '../test/helpers/postgres.js'
import { load, type LoadResult } from './lib/load.js'
import { buildServer, cpuUsOf, ROOT, rssOf, settledRssOf, startServer, stopAll, type Server } from './lib/processes.js'
import { machine, printReport, type PairRow, type Report } from './lib/report.js'
import { embeddedBackup, embeddedSetup, jobsBench, settingsInitialization } from './lib/extras.js'
import { SERVER_ENV, SERVER_NODE_FLAGS } from '../services/core/node-flags.js'

const quick = process.argv.includes('--quick')
// Short rounds, many of them: on a shared machine drift then hits both sides of a ratio alike.
const SECONDS = quick ? 1 : 2
const ROUNDS = quick ? 1 : 6
/** --only TEXT: just the pairs whose name holds TEXT, nothing else (to check a fix quickly). */
const ONLY = process.argv.includes('--only') ? process.argv[process.argv.indexOf('--only') + 1] ?? '' : null
const WARMUP_SECONDS = quick ? 0.5 : 2
const OVERLOAD_SECONDS = quick ? 3 : 30
const STARTS = quick ? 1 : 3
const LOG_LEVEL = process.env.BENCH_LOG_LEVEL ?? 'warn'
const TOKEN = 'bench-admin-token-0123456789abcdef'
const AUTH = { authorization: `Bearer ${TOKEN}` }
const KV_KEY = 'bench'
const SETTING_KEY = 'smtp.port'

const temp: string[] = []
const databases: TestDatabase[] = []

async function tempDir(): Promise<string> {
  const dir = await mkdtemp(join(tmpdir(), 'groundwork-bench-'))
  temp.push(dir)
  return dir
}

async function cleanup(): Promise<void> {
  await stopAll()
  await Promise.allSettled(databases.splice(0).map((d) => d.drop()))
  await Promise.allSettled(temp.splice(0).map((d) => rm(d, { recursive: true, force: true })))
}

for (const signal of ['SIGINT', 'SIGTERM'] as const) {
  process.once(signal, () => {
    process.stderr.write(`\n${signal}: stopping the servers and removing the temporary databases and folders…\n`)
    void cleanup().finally(() => process.exit(130))
  })
}

// --cpu-prof: every server (ours and the baselines) writes a V8 CPU profile there, named after its
// process id (kept after the run, for Chrome DevTools); the run prints which id was which server.
const PROFILES = process.argv.includes('--cpu-prof') ? join(tmpdir(), `groundwork-bench-profiles-${process.pid}`) : null
const PROFILE_ARGS = PROFILES ? ['--cpu-prof', `--cpu-prof-dir=${PROFILES}`] : []
const profiled: string[] = []

function ours(name: string, env: Record<string, string>, probe: '/health' | '/ready' = '/ready', imports?: string[]): Promise<Server> {
  // The flags and environment production runs with (npm start, the image), then the profiler's.
  const nodeArgs = [...SERVER_NODE_FLAGS, ...PROFILE_ARGS]
  return named(startServer(name, 'services/server.ts', { probe, imports, nodeArgs, env: { ...SERVER_ENV, LOG_LEVEL, ADMIN_TOKEN: TOKEN, ...env } }))
}

function bare(name: string, file: string, env: Record<string, string> = {}): Promise<Server> {
  return named(startServer(name, `bench/servers/${file}`, { probe: '/health', nodeArgs: PROFILE_ARGS, env: { LOG_LEVEL, ...env } }))
}

async function named(starting: Promise<Server>): Promise<Server> {
  const server = await starting
  if (PROFILES) profiled.push(`  process ${server.child.pid}: ${server.name}`)
  return server
}

async function request(url: string, init: { method?: string; body?: unknown } = {}): Promise<{ status: number; body: string }> {
  const response = await fetch(url, {
    method: init.method ?? 'GET',
    headers: { ...AUTH, ...(init.body === undefined ? {} : { 'content-type': 'application/json' }) },
    body: init.body === undefined ? undefined : JSON.stringify(init.body),
  })
  return { status: response.status, body: await response.text() }
}

interface Target {
  server: Server
  path: string
  method?: 'GET' | 'PUT'
  body?: unknown
}

interface Pair {
  group: string
  name: string
  ours: Target
  baseline: Target
  baselineName: string
}

function expectOk(result: LoadResult, what: string): void {
  if (result.errors + result.timeouts + result.non2xx > 0) {
    throw new Error(`${what}: ${result.errors} errors, ${result.timeouts} timeouts, ${result.non2xx} non-2xx answers; run it by hand (see bench/README-section.md) to see why`)
  }
}

/** A load run, with the server's CPU time per answered request (null without /proc). */
async function drive(target: Target, seconds: number): Promise<LoadResult & { cpuUs: number | null }> {
  const pid = target.server.child.pid!
  const before = cpuUsOf(pid)
  const result = await load(target.server.url + target.path, { method: target.method, body: target.body, headers: AUTH, seconds })
  const after = cpuUsOf(pid)
  expectOk(result, `${target.method ?? 'GET'} ${target.path} on ${target.server.name}`)
  return { ...result, cpuUs: before === null || after === null || result.requests === 0 ? null : (after - before) / result.requests }
}

/** A B A B …: each round runs every pair, so drift hits both sides of a ratio alike. */
async function runPairs(pairs: Pair[]): Promise<PairRow[]> {
  for (const pair of pairs) {
    await drive(pair.ours, WARMUP_SECONDS)
    await drive(pair.baseline, WARMUP_SECONDS)
  }
  const samples = pairs.map(() => ({ ours: [] as Awaited<ReturnType<typeof drive>>[], baseline: [] as Awaited<ReturnType<typeof drive>>[] }))
  for (let round = 0; round < ROUNDS; round++) {
    for (const [i, pair] of pairs.entries()) {
      samples[i]!.ours.push(await drive(pair.ours, SECONDS))
      samples[i]!.baseline.push(await drive(pair.baseline, SECONDS))
      process.stderr.write('.')
    }
  }
  return pairs.map((pair, i) => {
    const { ours: a, baseline: b } = samples[i]!
    const ratios = a.map((r, k) => r.rps / b[k]!.rps)
    // Baseline ÷ ours, so that like the req/s ratio 1 is parity and less is ours costing more.
    const cpuRatios = a.flatMap((r, k) => (r.cpuUs === null || !b[k]!.cpuUs ? [] : [b[k]!.cpuUs! / r.cpuUs]))
    return {
      group: pair.group,
      name: pair.name,
      baseline: pair.baselineName,
      rps: mean(a.map((r) => r.rps)),
      p50: mean(a.map((r) => r.p50)),
      p99: mean(a.map((r) => r.p99)),
      baselineRps: mean(b.map((r) => r.rps)),
      baselineP50: mean(b.map((r) => r.p50)),
      baselineP99: mean(b.map((r) => r.p99)),
      ratio: median(ratios),
      ratioMin: Math.min(...ratios),
      ratioMax: Math.max(...ratios),
      cpuUs: cpuRatios.length > 0 ? median(a.flatMap((r) => (r.cpuUs === null ? [] : [r.cpuUs]))) : null,
      baselineCpuUs: cpuRatios.length > 0 ? median(b.flatMap((r) => (r.cpuUs === null ? [] : [r.cpuUs]))) : null,
      cpuRatio: cpuRatios.length > 0 ? median(cpuRatios) : null,
    }
  })
}

const mean = (values: number[]) => values.reduce((a, b) => a + b, 0) / values.length
function median(values: number[]): number {
  const sorted = [...values].sort((a, b) => a - b)
  const middle = Math.floor(sorted.length / 2)
  return sorted.length % 2 === 1 ? sorted[middle]! : (sorted[middle - 1]! + sorted[middle]!) / 2
}

async function seed(server: Server, kv: boolean): Promise<void> {
  if (!kv) return
  const put = await request(`${server.url}/api/kv/${KV_KEY}`, { method: 'PUT', body: { value: { a: { b: 1 } } } })
  if (put.status !== 200) throw new Error(`seeding PUT /api/kv/${KV_KEY} on ${server.name} answered ${put.status}: ${put.body}`)
}

/** The KV routes come from another branch: measured only where the server has them. */
async function hasKv(server: Server): Promise<boolean> {
  const { status } = await request(`${server.url}/api/kv/${KV_KEY}`)
  return status !== 404 || (await request(`${server.url}/api/kv/${KV_KEY}`, { method: 'PUT', body: { value: 1 } })).status === 200
}

function dataPairs(kind: string, server: Server, baseline: Server, kv: boolean): Pair[] {
  const b = kind === 'postgresql' ? 'bare route, pg Pool + named prepared statement' : 'bare route, raw PGlite'
  const pairs: Pair[] = [
    { group: `reads (${kind})`, name: `GET /api/settings/${SETTING_KEY} (${kind})`, ours: { server, path: `/api/settings/${SETTING_KEY}` }, baseline: { server: baseline, path: `/settings/${SETTING_KEY}` }, baselineName: b },
  ]
  if (kv) {
    pairs.push(
      { group: `reads (${kind})`, name: `GET /api/kv/${KV_KEY} (${kind})`, ours: { server, path: `/api/kv/${KV_KEY}` }, baseline: { server: baseline, path: `/kv/${KV_KEY}` }, baselineName: b },
      {
        group: `writes (${kind})`,
        name: `PUT /api/kv/${KV_KEY} (${kind})`,
        ours: { server, path: `/api/kv/${KV_KEY}`, method: 'PUT', body: { value: { a: { b: 2 } } } },
        baseline: { server: baseline, path: `/kv/${KV_KEY}`, method: 'PUT', body: { value: { a: { b: 2 } } } },
        baselineName: `${b} (upsert)`,
      },
      {
        group: `writes (${kind})`,
        name: `PUT /api/kv/${KV_KEY} with path a.b (${kind})`,
        ours: { server, path: `/api/kv/${KV_KEY}`, method: 'PUT', body: { value: 3, path: 'a.b' } },
        baseline: { server: baseline, path: `/kv/${KV_KEY}`, method: 'PUT', body: { value: 3, path: 'a.b' } },
        baselineName: `${b} (one jsonb_set upsert)`,
      },
    )
  }
  return pairs
}

async function main(): Promise<void> {
  const started = Date.now()
  const report: Report = { quick, machine: await machine(), settings: { seconds: SECONDS, rounds: ROUNDS, connections: 16, logLevel: LOG_LEVEL }, pairs: [], startup: [], setup: [], idle: [], notes: [] }
  if (!(await postgresReachable())) throw new Error('PostgreSQL is not reachable at 127.0.0.1:5432 (or TEST_DATABASE_URL): start it, e.g. `pg_ctlcluster <version> main start`, and run again')

  process.stderr.write('starting the servers…\n')
  const pgDb = await createTestDatabase()
  databases.push(pgDb)
  const pgEnv = { ...pgDb.env, DB_TYPE: 'postgresql', PERSISTENT_DATA_DIR: await tempDir() }
  const plain = await bare('bare', 'bare.ts')
  const oursPg = await ours('ours (postgresql)', pgEnv)
  const barePg = await bare('bare-pg', 'bare-pg.ts', { ...pgDb.env, POSTGRES_POOL_MAX: '10' })
  const liteData = await tempDir()
  let oursLite = await ours('ours (pglite)', { DB_TYPE: 'pglite', PERSISTENT_DATA_DIR: liteData })
  if (quick) report.startup.push({ kind: 'postgresql', state: 'every migration pending', ms: [oursPg.startMs] })
  report.startup.push({ kind: 'pglite', state: 'every migration pending (creates the database)', ms: [oursLite.startMs] })

  const kv = await hasKv(oursPg)
  if (!kv) report.notes.push('KV rows not measured: this build has no /api/kv routes')
  await seed(oursPg, kv)
  await seed(oursLite, kv)
  // The baseline opens a copy of our migrated and seeded folder: PGlite allows one process per folder.
  await oursLite.stop()
  const bareLiteDir = join(await tempDir(), 'pglite')
  await cp(join(liteData, 'pglite'), bareLiteDir, { recursive: true })
  oursLite = await ours('ours (pglite)', { DB_TYPE: 'pglite', PERSISTENT_DATA_DIR: liteData })
  const bareLite = await bare('bare-pglite', 'bare-pglite.ts', { PGLITE_DIR: bareLiteDir })

  const http = 'HTTP baseline: bare Fastify route returning a constant'
  // The status body is ~40 times the constant's: a second baseline returns a document of its size.
  const statusBody = (await request(`${oursPg.url}/api/db/status`)).body
  const plainStatus = await bare('bare (status-sized constant)', 'bare.ts', { CONSTANT_JSON: statusBody })
  const pairs: Pair[] = [
    { group: 'probes', name: 'GET /health', ours: { server: oursPg, path: '/health' }, baseline: { server: plain, path: '/health' }, baselineName: http },
    { group: 'probes', name: 'GET /api/db/status (postgresql)', ours: { server: oursPg, path: '/api/db/status' }, baseline: { server: plain, path: '/health' }, baselineName: http },
    { group: 'probes', name: 'GET /api/db/status (pglite)', ours: { server: oursLite, path: '/api/db/status' }, baseline: { server: plain, path: '/health' }, baselineName: http },
    {
      group: 'probes',
      name: 'GET /api/db/status (postgresql), same-size body',
      ours: { server: oursPg, path: '/api/db/status' },
      baseline: { server: plainStatus, path: '/constant' },
      baselineName: `bare Fastify route returning a constant of the same size (${statusBody.length} bytes)`,
    },
    { group: 'probes', name: 'GET /ready (postgresql)', ours: { server: oursPg, path: '/ready' }, baseline: { server: barePg, path: '/ready' }, baselineName: 'bare route, select 1 on a pg Pool' },
    { group: 'probes', name: 'GET /ready (pglite)', ours: { server: oursLite, path: '/ready' }, baseline: { server: bareLite, path: '/ready' }, baselineName: 'bare route, select 1 on raw PGlite' },
    ...dataPairs('postgresql', oursPg, barePg, kv),
    ...dataPairs('pglite', oursLite, bareLite, kv),
  ].filter((pair) => ONLY === null || pair.name.includes(ONLY))
  process.stderr.write(`${pairs.length} pairs × ${ROUNDS} rounds × ${SECONDS} s `)
  report.pairs = await runPairs(pairs)
  process.stderr.write('\n')
  await Promise.all([plain, plainStatus, barePg, bareLite, oursPg, oursLite].map((s) => s.stop()))

  if (ONLY === null) {
    report.overload = await overload(pgDb, kv)
    await startupAndMemory(report, pgDb, liteData)
    report.settingsInit = await settingsInitialization(quick)
    report.embeddedSetup = await embeddedSetup(quick)
    report.embeddedBackup = await embeddedBackup(quick)
    report.jobs = await jobsBench(quick)
  }
  report.totalSeconds = Math.round((Date.now() - started) / 1000)
  printReport(report)
  if (PROFILES) process.stdout.write(`CPU profiles (CPU.<date>.<time>.<process id>…): ${PROFILES}\n${profiled.join('\n')}\n`)
  if (ONLY === null) await writeFile(join(ROOT, 'bench', quick ? 'results-quick.json' : 'results.json'), `${JSON.stringify(report, null, 2)}\n`)
}

/** 256 connections against a pool of 10: nothing may fail; the probe in the server times the pool waits. */
async function overload(pgDb: TestDatabase, kv: boolean): Promise<Report['overload']> {
  const waitFile = join(await tempDir(), 'pool-wait.json')
  const server = await ours('ours (postgresql, overload)', { ...pgDb.env, DB_TYPE: 'postgresql', POSTGRES_POOL_MAX: '10', PERSISTENT_DATA_DIR: await tempDir(), POOL_WAIT_FILE: waitFile }, '/ready', [
    join(ROOT, 'bench/servers/pool-wait-probe.ts'),
  ])
  const path = kv ? `/api/kv/${KV_KEY}` : `/api/settings/${SETTING_KEY}`
  process.stderr.write(`overload: 256 connections on GET ${path} for ${OVERLOAD_SECONDS} s\n`)
  const result = await load(server.url + path, { connections: 256, seconds: OVERLOAD_SECONDS, headers: AUTH })
  await new Promise((r) => setTimeout(r, 300))
  const { readFile } = await import('node:fs/promises')
  const wait = JSON.parse(await readFile(waitFile, 'utf8').catch(() => '{"longestMs":null,"waits":0}')) as { longestMs: number | null; waits: number }
  await server.stop()
  return { path, connections: 256, poolMax: 10, seconds: OVERLOAD_SECONDS, rps: result.rps, p99: result.p99, max: result.max, failures: result.errors + result.timeouts + result.non2xx, longestPoolWaitMs: wait.longestMs }
}

/** Start to ready per kind and state, against a bare Fastify process; setup and idle memory. */
async function startupAndMemory(report: Report, pgDb: TestDatabase, liteDir: string): Promise<void> {
  const times = async (name: string, start: () => Promise<Server>, after?: (s: Server) => Promise<void>) => {
    const ms: number[] = []
    for (let i = 0; i < STARTS; i++) {
      const server = await start()
      ms.push(server.startMs)
      if (after && i === STARTS - 1) await after(server)
      await server.stop()
    }
    process.stderr.write(`${name}: ${ms.map((m) => Math.round(m)).join(', ')} ms\n`)
    return ms
  }
  const idle = (kind: string) => async (server: Server) => {
    report.idle.push({ kind, ...(await settledRssOf(server.child.pid!)) })
  }
  report.bareStartMs = median(await times('bare Fastify', () => bare('bare', 'bare.ts')))
  report.startup.push({ kind: 'any', state: 'unconfigured', ms: await times('unconfigured', async () => ours('ours (unconfigured)', { PERSISTENT_DATA_DIR: await tempDir() }, '/health')) })
  const pgDir = await tempDir()
  report.startup.push({ kind: 'postgresql', state: 'configured, nothing pending', ms: await times('postgresql configured', () => ours('ours (postgresql)', { ...pgDb.env, DB_TYPE: 'postgresql', PERSISTENT_DATA_DIR: pgDir }), idle('postgresql')) })
  report.startup.push({ kind: 'pglite', state: 'configured, nothing pending', ms: await times('pglite configured', () => ours('ours (pglite)', { DB_TYPE: 'pglite', PERSISTENT_DATA_DIR: liteDir }), idle('pglite')) })
  // The floors: the hand-written baselines, idle the same way (PGlite alone holds most of ours).
  const floorLiteDir = join(await tempDir(), 'pglite')
  await cp(join(liteDir, 'pglite'), floorLiteDir, { recursive: true })
  for (const [kind, start] of [
    ['pglite', () => bare('bare-pglite', 'bare-pglite.ts', { PGLITE_DIR: floorLiteDir })],
    ['postgresql', () => bare('bare-pg', 'bare-pg.ts', { ...pgDb.env, POSTGRES_POOL_MAX: '10' })],
  ] as const) {
    const server = await start()
    await request(`${server.url}/ready`)
    const row = report.idle.find((r) => r.kind === kind)
    if (row) row.baselineMb = (await settledRssOf(server.child.pid!)).rssMb
    await server.stop()
  }
  // The compiled server (npm run build: what start:built and the image run), idle the same way.
  await buildServer()
  for (const [kind, env] of [
    ['pglite', { DB_TYPE: 'pglite', PERSISTENT_DATA_DIR: liteDir }],
    ['postgresql', { ...pgDb.env, DB_TYPE: 'postgresql', PERSISTENT_DATA_DIR: pgDir }],
  ] as const) {
    const server = await named(
      startServer(`ours (${kind}, compiled)`, 'dist/services/server.js', { probe: '/ready', compiled: true, nodeArgs: [...SERVER_NODE_FLAGS], env: { ...SERVER_ENV, LOG_LEVEL, ADMIN_TOKEN: TOKEN, ...env } }),
    )
    const row = report.idle.find((r) => r.kind === kind)
    if (row) row.compiledMb = (await settledRssOf(server.child.pid!)).rssMb
    await server.stop()
  }
  // Every migration pending on PostgreSQL: a fresh empty database per start (--quick keeps the first start's figure).
  if (!quick) report.startup.push({
    kind: 'postgresql',
    state: 'every migration pending',
    ms: await times('postgresql, migrations pending', async () => {
      const db = await createTestDatabase()
      databases.push(db)
      return ours('ours (postgresql, fresh)', { ...db.env, DB_TYPE: 'postgresql', PERSISTENT_DATA_DIR: await tempDir() })
    }),
  })
  // POST /api/db/setup on PostgreSQL; PGlite's setup is bench/embedded-setup.ts's (see extras).
  const setupDb = await createTestDatabase()
  databases.push(setupDb)
  const server = await ours('ours (postgresql setup)', { ...setupDb.env, PERSISTENT_DATA_DIR: await tempDir() }, '/health')
  const start = performance.now()
  const res = await request(`${server.url}/api/db/setup`, { method: 'POST', body: { type: 'postgresql' } })
  const ms = performance.now() - start
  if (res.status !== 200) throw new Error(`POST /api/db/setup (postgresql) answered ${res.status}: ${res.body}`)
  const peak = rssOf(server.child.pid!)!
  await new Promise((r) => setTimeout(r, quick ? 500 : 3_000))
  const settled = rssOf(server.child.pid!)!
  report.setup.push({ kind: 'postgresql', ms, peakMb: peak.peakMb, settledMb: settled.rssMb })
  await server.stop()
}

try {
  await main()
} catch (error) {
  process.stderr.write(`\nbench failed: ${error instanceof Error ? error.message : String(error)}\n`)
  process.exitCode = 1
} finally {
  await cleanup()
}
