import { access, mkdtemp, rm } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { Writable } from 'node:stream'
import { aroundAll, describe, inject, it, type TestContext, type TestOptions } from 'vitest'
import { buildApp, type App } from '../../services/app.js'
import { loadConfig, type Config, type DatabaseType } from '../../services/core/config.js'
import { loggerOptions } from '../../services/core/logger.js'
import { enterNoPostgres, leaveNoPostgres } from './no-postgres.js'
import { seedPgliteSetup } from './pglite-template.js'

export const TEST_ADMIN_TOKEN = 'test-admin-token-0123456789abcdef'
export const AUTH = { authorization: `Bearer ${TEST_ADMIN_TOKEN}` }

/** `describe` for tests that need the PostgreSQL server; skipped (loudly, by global-setup) without one. */
export const describePostgres = inject('postgresReachable') ? describe : describe.skip

/** True in the postgres-18 project, which runs only the tests that reach its PostgreSQL 18 server. */
const POSTGRES_18_PROJECT = inject('postgres18Url') !== undefined

type Body = () => void
type TestBody = (context: TestContext) => unknown

/**
 * `describe` for tests that never reach the PostgreSQL test server, in a file that has others that
 * do: the postgres-18 project skips them, since they would run there exactly as in the default
 * project. A marked test that reaches the server fails (test/helpers/no-postgres.ts).
 */
export function describeNoPostgres(name: string, ...rest: [Body] | [TestOptions, Body]): void {
  const body = rest.length === 1 ? rest[0] : rest[1]
  const options = rest.length === 1 ? {} : rest[0]
  ;(POSTGRES_18_PROJECT ? describe.skip : describe)(name, options, () => {
    // Around the suite's own hooks too, and ended however they end (afterAll does not run after a
    // failed beforeAll).
    aroundAll(async (runSuite) => {
      enterNoPostgres()
      try {
        await runSuite()
      } finally {
        leaveNoPostgres()
      }
    })
    body()
  })
}

/** `it` for one test that never reaches the PostgreSQL test server: see describeNoPostgres. */
export function itNoPostgres(name: string, ...rest: [TestBody] | [TestOptions, TestBody]): void {
  const body = rest.length === 1 ? rest[0] : rest[1]
  const options = rest.length === 1 ? {} : rest[0]
  ;(POSTGRES_18_PROJECT ? it.skip : it)(name, options, async (context) => {
    enterNoPostgres()
    try {
      await body(context)
    } finally {
      leaveNoPostgres()
    }
  })
}

/** The describe for a suite on one kind of database: describePostgres or describeNoPostgres. */
export function describeOnKind(kind: DatabaseType): (name: string, body: Body) => void {
  return kind === 'postgresql' ? describePostgres : describeNoPostgres
}

/** The `it` for a test on one kind of database: it, or itNoPostgres. */
export function itOnKind(kind: DatabaseType): (name: string, ...rest: [TestBody] | [TestOptions, TestBody]) => void {
  if (kind !== 'postgresql') return itNoPostgres
  return (name, ...rest) => (rest.length === 1 ? it(name, rest[0]) : it(name, rest[0], rest[1]))
}

const tempDirs = new Set<string>()

/** A fresh folder under the system temp folder, removed after the test file (test/setup-file.ts), if not before. */
export async function tempDir(prefix = 'groundwork-test-'): Promise<string> {
  const dir = await mkdtemp(join(tmpdir(), prefix))
  tempDirs.add(dir)
  return dir
}

/** Removes every folder tempDir() made in this test file. */
export async function removeTempDirs(): Promise<void> {
  const dirs = [...tempDirs]
  tempDirs.clear()
  await Promise.all(dirs.map((dir) => rm(dir, { recursive: true, force: true })))
}

/**
 * No plugin folder: a test that wants plugins passes `config: { pluginsFolder }` (see test/fixtures/plugins/).
 * No background preparation of the embedded database either (a ~900 MB child for every unconfigured
 * app): the tests of it pass PGLITE_PREPARE=true.
 */
export function testConfig(env: Record<string, string | undefined> = {}): Config {
  return { ...loadConfig({ LOG_LEVEL: 'silent', ADMIN_TOKEN: TEST_ADMIN_TOKEN, PGLITE_PREPARE: 'false', ...env }), pluginsFolder: null }
}

export interface TestApp {
  app: App
  config: Config
  dataDir: string
  /** Every log line the app wrote, as text, through the production logger options (redaction included). */
  logs: string[]
  /** app.ready(), then the end of the first connection attempt the app started in the background. */
  ready(): Promise<void>
  close(): Promise<void>
}

/**
 * The production app on a temp persistent_data/ folder, logging at trace level into `logs`.
 * `seedPglite` starts it as if the embedded database had already been set up (a fast copy).
 */
export async function buildTestApp(env: Record<string, string | undefined> = {}, options: { dataDir?: string; seedPglite?: boolean; config?: Partial<Config> } = {}): Promise<TestApp> {
  const dataDir = options.dataDir ?? (await tempDir())
  if (options.seedPglite) await seedPgliteSetup(dataDir)
  const config = { ...testConfig({ PERSISTENT_DATA_DIR: dataDir, ...env }), ...options.config }
  const logs: string[] = []
  const stream = new Writable({
    write(chunk, _encoding, done) {
      logs.push(chunk.toString())
      done()
    },
  })
  const app = await buildApp(config, { logger: { ...(loggerOptions('trace', false) as object), stream } })
  return {
    app,
    config,
    dataDir,
    logs,
    async ready() {
      await app.ready()
      await app.database.settled()
    },
    async close() {
      await app.close()
      if (!options.dataDir) await rm(dataDir, { recursive: true, force: true })
    },
  }
}

export async function exists(path: string): Promise<boolean> {
  return access(path).then(
    () => true,
    () => false,
  )
}
