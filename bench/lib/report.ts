import { readFileSync } from 'node:fs'
import { cpus, loadavg, release, totalmem } from 'node:os'
import { join } from 'node:path'
import pg from 'pg'
import { ADMIN_URL } from '../../test/helpers/postgres.js'
import type { ScriptOutput, SettingsInit } from './extras.js'
import { ROOT } from './processes.js'

export interface PairRow {
  group: string
  name: string
  baseline: string
  rps: number
  p50: number
  p99: number
  baselineRps: number
  baselineP50: number
  baselineP99: number
  /** Median of the rounds' ratios. */
  ratio: number
  ratioMin: number
  ratioMax: number
  /** The server's CPU time per request, µs (median of the rounds), from /proc; null elsewhere. */
  cpuUs: number | null
  baselineCpuUs: number | null
  /** Median of the rounds' baseline ÷ ours CPU per request: 1 is parity, less is ours costing more. */
  cpuRatio: number | null
}

export interface Report {
  quick: boolean
  machine: Record<string, string | number>
  settings: { seconds: number; rounds: number; connections: number; logLevel: string }
  pairs: PairRow[]
  overload?: { path: string; connections: number; poolMax: number; seconds: number; rps: number; p99: number; max: number; failures: number; longestPoolWaitMs: number | null }
  bareStartMs?: number
  startup: { kind: string; state: string; ms: number[] }[]
  setup: { kind: string; ms: number; peakMb: number; settledMb: number }[]
  /** baselineMb: the hand-written baseline server of the same kind, idle the same way; compiledMb: ours compiled (dist/, no tsx). */
  idle: { kind: string; rssMb: number; peakMb: number; baselineMb?: number; compiledMb?: number }[]
  settingsInit?: SettingsInit
  embeddedSetup?: ScriptOutput
  embeddedBackup?: ScriptOutput
  jobs?: ScriptOutput
  notes: string[]
  totalSeconds?: number
}

const version = (pkg: string) => (JSON.parse(readFileSync(join(ROOT, 'node_modules', pkg, 'package.json'), 'utf8')) as { version: string }).version

export async function machine(): Promise<Report['machine']> {
  const client = new pg.Client({ connectionString: ADMIN_URL })
  await client.connect()
  const { rows } = await client.query<{ server_version: string }>('show server_version')
  await client.end()
  return {
    cpu: cpus()[0]?.model ?? 'unknown',
    cores: cpus().length,
    memoryGb: Math.round(totalmem() / 2 ** 30),
    kernel: release(),
    loadAverage: loadavg()[0]!.toFixed(2),
    node: process.version,
    postgresql: rows[0]!.server_version,
    pglite: version('@electric-sql/pglite'),
    fastify: version('fastify'),
    loadGenerator: `autocannon ${version('autocannon')}`,
    date: new Date().toISOString(),
  }
}

const out = (line = '') => process.stdout.write(`${line}\n`)
const n = (value: number) => Math.round(value).toLocaleString('en-US')
const ms = (value: number) => value.toFixed(value < 10 ? 1 : 0)
const ratio = (row: PairRow) => (row.ratioMin === row.ratioMax ? `${row.ratio.toFixed(2)}×` : `${row.ratio.toFixed(2)}× (${row.ratioMin.toFixed(2)}–${row.ratioMax.toFixed(2)})`)

export function printReport(report: Report): void {
  const m = report.machine
  const s = report.settings
  out()
  out(`${m.cpu}, ${m.cores} cores, ${m.memoryGb} GB, Linux ${m.kernel}, load ${m.loadAverage}; Node ${m.node}, PostgreSQL ${m.postgresql}, PGlite ${m.pglite}, Fastify ${m.fastify}, ${m.loadGenerator}`)
  out(`${s.connections} connections, loopback, ${s.rounds} interleaved round(s) of ${s.seconds} s, LOG_LEVEL=${s.logLevel}${report.quick ? ' (--quick: smoke run, numbers mean little)' : ''}`)
  out()
  out('| route (ours) | req/s | p50 ms | p99 ms | baseline | base req/s | base p99 ms | ratio: median (range) | CPU µs/req, ours / base | CPU ratio |')
  out('| --- | ---: | ---: | ---: | --- | ---: | ---: | ---: | ---: | ---: |')
  for (const r of report.pairs) {
    const cpu = r.cpuUs === null || r.baselineCpuUs === null ? 'n/a | n/a' : `${n(r.cpuUs)} / ${n(r.baselineCpuUs)} | ${r.cpuRatio!.toFixed(2)}×`
    out(`| ${r.name} | ${n(r.rps)} | ${ms(r.p50)} | ${ms(r.p99)} | ${r.baseline} | ${n(r.baselineRps)} | ${ms(r.baselineP99)} | ${ratio(r)} | ${cpu} |`)
  }
  if (report.pairs.some((r) => r.cpuRatio !== null)) {
    out()
    out("CPU ratio: the baseline server's CPU time per request ÷ ours (median of the rounds; 1 is parity, less is ours costing more). It")
    out('counts only the server process (not PostgreSQL, not the load generator), so it drifts less than req/s on a shared machine.')
  }
  const o = report.overload
  if (o) {
    out()
    out(`Overload, GET ${o.path}: ${o.connections} connections, pool of ${o.poolMax}, ${o.seconds} s: ${o.failures} errors, ${n(o.rps)} req/s, p99 ${ms(o.p99)} ms, max ${ms(o.max)} ms, longest wait for a pool connection ${o.longestPoolWaitMs === null ? 'not recorded' : `${ms(o.longestPoolWaitMs)} ms`}`)
  }
  out()
  out(`Start to ready (median of the runs; bare Fastify process: ${report.bareStartMs === undefined ? '?' : `${n(report.bareStartMs)} ms`})`)
  out('| kind | state | ms | × bare |')
  out('| --- | --- | ---: | ---: |')
  for (const row of report.startup) {
    const mid = [...row.ms].sort((a, b) => a - b)[Math.floor(row.ms.length / 2)]!
    out(`| ${row.kind} | ${row.state} | ${n(mid)} | ${report.bareStartMs ? (mid / report.bareStartMs).toFixed(1) : '?'} |`)
  }
  out()
  for (const row of report.setup) out(`POST /api/db/setup (${row.kind}): ${n(row.ms)} ms; server RSS peak ${row.peakMb} MB, settled ${row.settledMb} MB`)
  out(`POST /api/db/setup (pglite) — bench/embedded-setup.ts: ${report.embeddedSetup?.measured ? '' : report.embeddedSetup?.output ?? 'not measured'}`)
  if (report.embeddedSetup?.measured) out(report.embeddedSetup.output)
  out(`GET /api/db/backup (pglite) — bench/embedded-backup.ts: ${report.embeddedBackup?.measured ? '' : report.embeddedBackup?.output ?? 'not measured'}`)
  if (report.embeddedBackup?.measured) out(report.embeddedBackup.output)
  out(`Background jobs — bench/jobs.ts: ${report.jobs?.measured ? '' : report.jobs?.output ?? 'not measured'}`)
  if (report.jobs?.measured) out(report.jobs.output)
  for (const row of report.idle) {
    const compiled = row.compiledMb === undefined ? '' : `; compiled (dist/, as start:built and the image run it): ${row.compiledMb} MB`
    out(`Idle RSS after a restart (${row.kind}, through tsx): ${row.rssMb} MB (peak ${row.peakMb} MB)${compiled}${row.baselineMb === undefined ? '' : `; the bare ${row.kind === 'pglite' ? 'PGlite' : 'pg Pool'} baseline server: ${row.baselineMb} MB`}`)
  }
  const si = report.settingsInit
  if (si) out(`Settings initialization, ${n(si.definitions)} definitions (${si.kind}): ${si.firstStatements} statements, ${n(si.firstMs)} ms; on a restart ${si.againStatements} statements, ${n(si.againMs)} ms`)
  for (const note of report.notes) out(`Note: ${note}`)
  if (report.totalSeconds !== undefined) out(`(${report.totalSeconds} s)`)
}
