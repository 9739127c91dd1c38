import { spawn } from 'node:child_process'
import { mkdir, readFile, readdir, rm, writeFile } from 'node:fs/promises'
import { join } from 'node:path'
import { afterEach, expect, it, vi, type TestContext } from 'vitest'
import { AUTH, describeNoPostgres, describePostgres, exists, tempDir, type TestApp } from '../../test/helpers/app.js'
import { appForTest, eventually, postSetup } from '../../test/helpers/apps.js'
import { databaseForTest } from '../../test/helpers/postgres-apps.js'
import { REAL_TAGS } from '../../test/helpers/migrations.js'
import { ext4ForTest, mountedForTest } from '../../test/helpers/mounts.js'
import { creatingChildren } from '../../test/helpers/processes.js'
import { loadConfig } from '../core/config.js'
import { PREPARED_FOLDER, currentIdentity, stampDifferences } from './pglite-prepare.js'

// Each test below creates an embedded database in a child (seconds, far more on a busy machine).
const SLOW = { timeout: 180_000 }
const PREPARE = { PGLITE_PREPARE: 'true' }

// PGlite's WebAssembly calls, to see which engine it instantiated (the global is typed only in part here).
const wasm = globalThis.WebAssembly as unknown as { instantiate: (source: unknown, imports?: unknown) => Promise<unknown>; Module: new (...args: never[]) => unknown }

afterEach(() => {
  vi.restoreAllMocks()
})

const stagingOf = (t: TestApp) => join(t.dataDir, PREPARED_FOLDER)
const stampOf = (t: TestApp) => join(stagingOf(t), 'stamp.json')
const logged = (t: TestApp, text: string) => t.logs.some((line) => line.includes(text))

/** An unconfigured app that started preparing, and the preparation finished. */
async function preparedApp(): Promise<TestApp> {
  const t = await appForTest(PREPARE)
  await t.app.ready()
  await eventually('the background preparation', () => exists(stampOf(t)), Boolean, 150_000)
  return t
}

/** Alive and not a zombie. */
async function isRunning(pid: number): Promise<boolean> {
  try {
    const stat = await readFile(`/proc/${pid}/stat`, 'utf8')
    return !['Z', 'X'].includes(stat.charAt(stat.lastIndexOf(')') + 2))
  } catch {
    return false
  }
}

/** The database the setup left works: fully migrated, and a KV value written reads back. */
async function expectWorkingDatabase(t: TestApp) {
  expect(t.app.database.status()).toMatchObject({ phase: 'ready', type: 'pglite', migrations: { pending: [], applied: REAL_TAGS.length } })
  const put = await t.app.inject({ method: 'PUT', url: '/api/kv/prepared', headers: AUTH, payload: { value: { works: true } } })
  expect(put.statusCode).toBe(200)
  const get = await t.app.inject({ method: 'GET', url: '/api/kv/prepared', headers: AUTH })
  expect(get.json()).toMatchObject({ value: { works: true } })
}

describeNoPostgres('the stamp of a prepared embedded database', () => {
  it('names every difference from what is installed now, and none for an exact match', async () => {
    const expected = await currentIdentity(loadConfig({ LOG_LEVEL: 'silent' }))
    const installed = JSON.parse(await readFile(join(import.meta.dirname, '../../node_modules/@electric-sql/pglite/package.json'), 'utf8')).version
    expect(expected.pglite).toBe(installed)
    expect(stampDifferences({ ...expected, applied: REAL_TAGS, builtAt: 'now' }, expected)).toEqual([])
    expect(stampDifferences({ ...expected, pglite: '0.0.1' }, expected)).toEqual([`pglite "0.0.1" ≠ "${installed}"`])
    expect(stampDifferences({ ...expected, migrations: 'other', startParams: [] }, expected)).toHaveLength(2)
    expect(stampDifferences({}, expected)).toHaveLength(Object.keys(expected).length)
  })
})

describeNoPostgres('preparing the embedded database while no database is chosen', () => {
  it('is used by the setup: the folder moves into place, and the database works', SLOW, async () => {
    const t = await preparedApp()
    const instantiate = vi.spyOn(wasm, 'instantiate')
    const res = await postSetup(t, 'pglite')
    expect(res.statusCode).toBe(200)
    // On the engine compiled ahead (pglite-engine.ts): PGlite was given a compiled module, not the file's bytes.
    expect(instantiate.mock.calls.some(([given]) => given instanceof wasm.Module)).toBe(true)
    expect(res.json()).toMatchObject({ database_type: 'pglite', migrations_applied: REAL_TAGS, restart_required: false })
    expect(logged(t, 'using the embedded database prepared in the background')).toBe(true)
    expect(logged(t, 'creating a fresh one')).toBe(false)
    expect(await exists(stagingOf(t))).toBe(false)
    expect(await exists(`${stagingOf(t)}.lock`)).toBe(false)
    await expectWorkingDatabase(t)
  })

  it('is not used when its stamp names another PGlite version: a fresh database is created instead', SLOW, async () => {
    const t = await preparedApp()
    const stamp = JSON.parse(await readFile(stampOf(t), 'utf8'))
    await writeFile(stampOf(t), JSON.stringify({ ...stamp, pglite: '0.0.1' }))
    const res = await postSetup(t, 'pglite')
    expect(res.statusCode).toBe(200)
    expect(res.json()).toMatchObject({ migrations_applied: REAL_TAGS })
    // The log line is JSON: its quotes are escaped.
    expect(logged(t, 'built from something other than what is installed now (pglite \\"0.0.1\\"')).toBe(true)
    expect(logged(t, 'using the embedded database prepared in the background')).toBe(false)
    expect(await exists(stagingOf(t))).toBe(false)
    await expectWorkingDatabase(t)
  })

  it('is not used when its folder is damaged: a fresh database is created instead', SLOW, async () => {
    const t = await preparedApp()
    await writeFile(join(stagingOf(t), 'data', 'global', 'pg_control'), 'not a control file')
    const res = await postSetup(t, 'pglite')
    expect(res.statusCode).toBe(200)
    expect(res.json()).toMatchObject({ migrations_applied: REAL_TAGS })
    expect(logged(t, 'the embedded database prepared in the background did not open')).toBe(true)
    await expectWorkingDatabase(t)
  })

  // tmpfs: an empty mount point; ext4: one holding lost+found, as a formatted volume arrives.
  const mounts = { tmpfs: (ctx: TestContext, at: string) => mountedForTest(ctx, ['-t', 'tmpfs', '-o', 'size=200m', 'tmpfs'], at), ext4: ext4ForTest }

  it.for(Object.entries(mounts))('is used when persistent_data/pglite is a mount point (%s): copied into it, since a mount point cannot be replaced', SLOW, async ([, mount], ctx) => {
    const t = await preparedApp()
    const mounted = await mount(ctx, join(t.dataDir, 'pglite'))
    const before = await readdir(mounted)
    const res = await postSetup(t, 'pglite')
    expect(res.statusCode, res.body).toBe(200)
    expect(logged(t, 'using the embedded database prepared in the background')).toBe(true)
    expect(logged(t, 'creating a fresh one')).toBe(false)
    expect(await readdir(mounted)).toEqual(expect.arrayContaining(['PG_VERSION', ...before]))
    expect(await exists(stagingOf(t))).toBe(false)
    await expectWorkingDatabase(t)
  })

  it.for(Object.entries(mounts))('on a mount point (%s), a prepared folder that does not open is emptied out of it and a fresh database created there', SLOW, async ([, mount], ctx) => {
    const t = await preparedApp()
    const mounted = await mount(ctx, join(t.dataDir, 'pglite'))
    const before = await readdir(mounted)
    await writeFile(join(stagingOf(t), 'data', 'global', 'pg_control'), 'not a control file')
    const res = await postSetup(t, 'pglite')
    expect(res.statusCode, res.body).toBe(200)
    expect(logged(t, 'the embedded database prepared in the background did not open')).toBe(true)
    expect(await readdir(mounted)).toEqual(expect.arrayContaining(['PG_VERSION', ...before]))
    await expectWorkingDatabase(t)
  })

  it('on a mount point too small for the database: the copy fails, the mount is emptied, and the setup answers 507 persistent_data_full', SLOW, async (ctx) => {
    const t = await preparedApp()
    const mounted = await mountedForTest(ctx, ['-t', 'tmpfs', '-o', 'size=10m', 'tmpfs'], join(t.dataDir, 'pglite'))
    const res = await postSetup(t, 'pglite')
    expect(res.statusCode, res.body).toBe(507)
    // The full disk named is the volume on the folder, not PERSISTENT_DATA_DIR's.
    expect(res.json()).toMatchObject({ error: 'persistent_data_full', message: expect.stringContaining(`the disk that holds ${mounted} (a volume mounted on the embedded database's own folder) is full (ENOSPC)`) })
    expect(logged(t, 'the embedded database prepared in the background cannot be used (ENOSPC)')).toBe(true)
    expect(await readdir(mounted)).toEqual([])
    expect(t.app.database.status()).toMatchObject({ configured: false, setup_in_progress: false })
  })

  it("is used even when PGlite's engine could not be compiled ahead: the setup opens it on PGlite's own", SLOW, async () => {
    vi.spyOn(globalThis.WebAssembly, 'compile').mockRejectedValueOnce(new RangeError('WebAssembly.compile(): Out of memory'))
    const t = await preparedApp()
    expect(logged(t, "could not compile the embedded database's engine ahead (WebAssembly.compile(): Out of memory)")).toBe(true)
    const instantiate = vi.spyOn(wasm, 'instantiate')
    const res = await postSetup(t, 'pglite')
    expect(res.statusCode).toBe(200)
    expect(logged(t, 'using the embedded database prepared in the background')).toBe(true)
    expect(instantiate.mock.calls.some(([given]) => given instanceof wasm.Module)).toBe(false)
    await expectWorkingDatabase(t)
  })

  it('is waited for by a setup that comes while it still runs: one creation, and the database works', SLOW, async () => {
    const t = await appForTest(PREPARE)
    await t.app.ready()
    expect(await exists(stampOf(t))).toBe(false)
    const res = await postSetup(t, 'pglite')
    expect(res.statusCode).toBe(200)
    expect(res.json()).toMatchObject({ migrations_applied: REAL_TAGS })
    expect(logged(t, 'using the embedded database prepared in the background')).toBe(true)
    expect(logged(t, 'creating a fresh one')).toBe(false)
    await expectWorkingDatabase(t)
  })

  it('is prepared again after a setup that used it failed, and the retry uses the new one', { timeout: 300_000 }, async () => {
    const t = await preparedApp()
    // A folder where the selection file goes: the setup fails after the prepared folder moved in.
    await mkdir(join(t.dataDir, 'db.selection.json'))
    const failed = await postSetup(t, 'pglite')
    expect(failed.statusCode).toBe(500)
    expect(failed.json()).toMatchObject({ error: 'persistent_data_unwritable' })
    expect(await exists(join(t.dataDir, 'pglite'))).toBe(false)
    await eventually('a new background preparation', () => exists(stampOf(t)), Boolean, 150_000)
    await rm(join(t.dataDir, 'db.selection.json'), { recursive: true })
    const res = await postSetup(t, 'pglite')
    expect(res.statusCode).toBe(200)
    expect(t.logs.filter((line) => line.includes('using the embedded database prepared in the background'))).toHaveLength(2)
    expect(logged(t, 'creating a fresh one')).toBe(false)
    await expectWorkingDatabase(t)
  })

  it('stops when the server closes: the child is killed and the folder removed', SLOW, async () => {
    const t = await appForTest(PREPARE)
    await t.app.ready()
    const [child] = await eventually('the child creating the database', creatingChildren, (pids) => pids.length === 1)
    await t.app.close()
    expect(await creatingChildren()).toEqual([])
    expect(() => process.kill(child!, 0)).toThrow()
    expect(await exists(stagingOf(t))).toBe(false)
    expect(await exists(`${stagingOf(t)}.lock`)).toBe(false)
  })

  it('does not run twice on one PERSISTENT_DATA_DIR, and the second server leaves the first one\'s folder alone', SLOW, async () => {
    const first = await preparedApp()
    const second = await appForTest({ ...PREPARE }, { dataDir: first.dataDir })
    await second.app.ready()
    await eventually('the second server giving up preparing', () => logged(second, 'not preparing the embedded database in the background'), Boolean)
    await second.app.close()
    expect(await exists(stampOf(first))).toBe(true)
    expect(await creatingChildren()).toEqual([])
  })

  it('is left alone by a configured server, which removes a folder a killed server left', SLOW, async () => {
    const t = await appForTest({ ...PREPARE }, { seedPglite: true })
    await mkdir(join(stagingOf(t), 'data'), { recursive: true })
    await writeFile(join(stagingOf(t), 'data', 'PG_VERSION'), '17\n')
    await t.ready()
    expect(await exists(stagingOf(t))).toBe(false)
    expect(await creatingChildren()).toEqual([])
    expect(t.app.database.status()).toMatchObject({ phase: 'ready', type: 'pglite' })
  })

  it('is not started with PGLITE_PREPARE=false', async () => {
    const t = await appForTest({ PGLITE_PREPARE: 'false' })
    await t.app.ready()
    expect(await creatingChildren()).toEqual([])
    expect(await exists(stagingOf(t))).toBe(false)
  })
})

describeNoPostgres('the child creating the embedded database', () => {
  it('exits when the process that started it is killed, rather than finish into a folder nobody owns', SLOW, async () => {
    const dir = await tempDir()
    const script = `import { createPgliteDataDir } from ${JSON.stringify(join(import.meta.dirname, 'pglite-create.ts'))}
import { loadConfig } from ${JSON.stringify(join(import.meta.dirname, '../core/config.ts'))}
await createPgliteDataDir(${JSON.stringify(join(dir, 'pglite'))}, loadConfig({ PERSISTENT_DATA_DIR: ${JSON.stringify(dir)} }))`
    const parent = spawn(process.execPath, ['--import', 'tsx', '--input-type=module', '-e', script], { stdio: 'ignore' })
    const exited = new Promise((resolve) => parent.once('exit', resolve))
    const [child] = await eventually('the child creating the database', () => creatingChildren(parent.pid!), (pids) => pids.length === 1)
    parent.kill('SIGKILL')
    await exited
    await eventually('the orphaned child to exit', () => isRunning(child!), (running) => !running)
    // initdb builds in memory and writes the folder at its end: an orphan that went on would leave one.
    expect(await readdir(dir)).toEqual([])
  })
})

describePostgres('preparing the embedded database, then choosing PostgreSQL', () => {
  it('kills the child and removes the folder once PostgreSQL is set up', SLOW, async () => {
    const db = await databaseForTest()
    const t = await appForTest({ ...PREPARE, ...db.env })
    await t.app.ready()
    const [child] = await eventually('the child creating the database', creatingChildren, (pids) => pids.length === 1)
    const res = await postSetup(t, 'postgresql')
    expect(res.statusCode).toBe(200)
    expect(await creatingChildren()).toEqual([])
    expect(() => process.kill(child!, 0)).toThrow()
    expect(await exists(stagingOf(t))).toBe(false)
    expect(await exists(`${stagingOf(t)}.lock`)).toBe(false)
  })
})
