import { execFileSync } from 'node:child_process'
import { randomBytes } from 'node:crypto'
import { readdir } from 'node:fs/promises'
import { join } from 'node:path'
import { afterEach, describe, expect, it, type TestContext } from 'vitest'
import { AUTH, buildTestApp, exists, tempDir, type TestApp } from '../../test/helpers/app.js'
import { eventually } from '../../test/helpers/apps.js'
import { mountedForTest } from '../../test/helpers/mounts.js'
import { openFilesUnder } from '../../test/helpers/processes.js'
import { messageOf } from '../core/errors.js'
import { PGLITE_SPACE_MB, unwritable } from './persistent-data.js'

const apps: TestApp[] = []
afterEach(async () => {
  await Promise.all(apps.splice(0).map((t) => t.close()))
})

/** A started app whose PERSISTENT_DATA_DIR is a tmpfs of `size` (10m, 70m…), closed after the test. */
async function appOnTmpfs(ctx: TestContext, size: string, env: Record<string, string> = {}): Promise<{ t: TestApp; dataDir: string }> {
  const dataDir = await mountedForTest(ctx, ['-t', 'tmpfs', '-o', `size=${size}`, 'tmpfs'])
  const t = await buildTestApp(env, { dataDir })
  apps.push(t)
  await t.ready()
  return { t, dataDir }
}

const setup = (t: TestApp) => t.app.inject({ method: 'POST', url: '/api/db/setup', headers: AUTH, payload: { type: 'pglite' } })

describe('an embedded setup on a full disk', () => {
  it('answers 507 persistent_data_full saying how much space is needed, and keeps nothing, not even an open file', async (ctx) => {
    // 10 MB: room for the lock and the selection file, not for the database.
    const { t, dataDir } = await appOnTmpfs(ctx, '10m')
    // Twice: a leaked file of a removed folder also keeps its space, so each retry had less.
    const first = await setup(t)
    expect(first.json()).toMatchObject({ error: 'persistent_data_full' })
    expect(await openFilesUnder(dataDir)).toEqual([])
    const res = await setup(t)
    expect(await openFilesUnder(dataDir)).toEqual([])
    expect(res.statusCode).toBe(507)
    expect(res.json()).toEqual({
      error: 'persistent_data_full',
      message: `Could not write ${dataDir}/pglite: the disk that holds ${dataDir} (PERSISTENT_DATA_DIR) is full (ENOSPC). The embedded database needs about ${PGLITE_SPACE_MB} MB free there to be created, and more as data grows: free some space or give the volume more, then try again. Nothing was recorded.`,
    })
    expect(res.body).not.toContain('undefined')
    expect(t.app.database.status()).toMatchObject({ configured: false, setup_in_progress: false })
    expect(await readdir(dataDir)).toEqual([])
  }, 180_000)
})

describe('an embedded setup on a full disk, with the background preparation on', () => {
  it('the preparation fails and leaves nothing, and the setup answers 507 persistent_data_full as without it', async (ctx) => {
    const { t, dataDir } = await appOnTmpfs(ctx, '10m', { PGLITE_PREPARE: 'true' })
    await eventually('the preparation failing', () => t.logs.some((line) => line.includes('could not prepare the embedded database in the background')), Boolean, 150_000)
    expect(await readdir(dataDir)).toEqual([])
    const res = await setup(t)
    expect(res.statusCode).toBe(507)
    expect(res.json()).toMatchObject({ error: 'persistent_data_full' })
    // No new preparation either: on this disk it would fill it again and fail.
    expect(t.app.database.preparingEmbedded()).toBe(false)
    expect(await openFilesUnder(dataDir)).toEqual([])
  }, 180_000)
})

/** Random values (they do not compress) put until a write is refused; returns that answer and how many went in. */
async function fillUntilRefused(t: TestApp): Promise<{ res: Awaited<ReturnType<TestApp['app']['inject']>>; stored: number }> {
  const big = () => randomBytes(600_000).toString('base64')
  const put = (key: string) => t.app.inject({ method: 'PUT', url: `/api/kv/${key}`, headers: AUTH, payload: { value: big() } })
  let res = await put('big-0')
  let stored = 0
  while (res.statusCode === 200 && stored < 100) res = await put(`big-${++stored}`)
  return { res, stored }
}

describe('the embedded database once its disk is full', () => {
  it('answers a write that needs space 507 persistent_data_full, keeps serving reads, and takes big writes again once the volume has room', async (ctx) => {
    // The database takes ~40 MB: ~30 MB left for values.
    const { t, dataDir } = await appOnTmpfs(ctx, '70m')
    expect((await setup(t)).statusCode).toBe(200)
    const kv = (method: 'GET' | 'PUT' | 'DELETE', key: string, value?: unknown) => t.app.inject({ method, url: `/api/kv/${key}`, headers: AUTH, ...(value === undefined ? {} : { payload: { value } }) })
    expect((await kv('PUT', 'small', 1)).statusCode).toBe(200)
    const { res, stored } = await fillUntilRefused(t)
    expect(stored).toBeGreaterThan(0)
    expect(res.statusCode, res.body).toBe(507)
    expect(res.json()).toEqual({
      error: 'persistent_data_full',
      message: expect.stringContaining(`the disk that holds ${dataDir} (PERSISTENT_DATA_DIR) is full (could not extend file`),
    })
    expect(res.json().message).toContain('The statement changed nothing, and queries that need no new room still work.')
    expect((await kv('GET', `big-${stored}`)).statusCode).toBe(404)
    expect((await kv('GET', 'small')).json()).toEqual({ key: 'small', value: 1 })
    expect((await t.app.inject({ method: 'GET', url: '/ready' })).statusCode).toBe(200)
    // Deleting values does not help at once: their space is reusable only after a VACUUM, which
    // itself needs a little room on the disk. The volume's owner gives it more.
    execFileSync('mount', ['-o', 'remount,size=80m', dataDir])
    expect((await kv('PUT', `big-${stored}`, randomBytes(600_000).toString('base64'))).statusCode).toBe(200)
  }, 180_000)

  it('names the volume mounted on the pglite folder itself as the full disk, not PERSISTENT_DATA_DIR', async (ctx) => {
    const dataDir = await tempDir()
    const mounted = await mountedForTest(ctx, ['-t', 'tmpfs', '-o', 'size=55m', 'tmpfs'], join(dataDir, 'pglite'))
    const t = await buildTestApp({}, { dataDir })
    apps.push(t)
    await t.ready()
    expect((await setup(t)).statusCode).toBe(200)
    const { res } = await fillUntilRefused(t)
    expect(res.statusCode, res.body).toBe(507)
    expect(res.json().message).toContain(`the disk that holds ${mounted} (a volume mounted on the embedded database's own folder) is full (could not `)
  }, 180_000)
})

describe('a backup of the embedded database on a full disk', () => {
  it('answers 507 persistent_data_full, leaves no part of the copy behind, and the database serves on', async (ctx) => {
    const { t, dataDir } = await appOnTmpfs(ctx, '80m')
    expect((await setup(t)).statusCode).toBe(200)
    const kv = (method: 'GET' | 'PUT', key: string, value?: unknown) => t.app.inject({ method, url: `/api/kv/${key}`, headers: AUTH, ...(value === undefined ? {} : { payload: { value } }) })
    // ~16 MB of values that do not compress: the copy needs more room than the disk has left.
    for (let i = 0; i < 20; i++) expect((await kv('PUT', `big-${i}`, randomBytes(600_000).toString('base64'))).statusCode).toBe(200)
    const before = (await readdir(dataDir)).sort()
    const res = await t.app.inject({ method: 'GET', url: '/api/db/backup', headers: AUTH })
    expect(res.statusCode, res.body.slice(0, 500)).toBe(507)
    expect(res.json()).toMatchObject({ error: 'persistent_data_full', message: expect.stringContaining(`Could not write the backup: the disk that holds ${dataDir} (PERSISTENT_DATA_DIR) is full (ENOSPC).`) })
    expect(res.json().message).toContain('npm run db -- backup <file>')
    expect((await readdir(dataDir)).sort()).toEqual(before)
    expect(await openFilesUnder(dataDir)).toEqual(expect.not.arrayContaining([expect.stringContaining('.backup-')]))
    expect((await kv('PUT', 'small', 1)).statusCode).toBe(200)
    expect((await kv('GET', 'big-3')).statusCode).toBe(200)
  }, 180_000)
})

describe('an embedded setup on a read-only file system', () => {
  it('answers 500 persistent_data_unwritable saying it is read-only', async (ctx) => {
    const dataDir = await mountedForTest(ctx, ['-t', 'tmpfs', '-o', 'size=1m,ro', 'tmpfs'])
    const t = await buildTestApp({}, { dataDir })
    apps.push(t)
    await t.ready()
    const res = await setup(t)
    expect(res.statusCode).toBe(500)
    expect(res.json()).toEqual({
      error: 'persistent_data_unwritable',
      message: `Could not write ${dataDir}/pglite.lock: ${dataDir} (PERSISTENT_DATA_DIR) is on a read-only file system (EROFS). It must be a writable folder for the user running the server: mount it read-write, then try again. Nothing was recorded.`,
    })
    expect(await exists(join(dataDir, 'pglite'))).toBe(false)
  })
})

describe('recognising why PERSISTENT_DATA_DIR cannot be written', () => {
  // Errors thrown inside PGlite's WASM are Emscripten ErrnoErrors: no message, no code, a WASM errno.
  class ErrnoError {
    constructor(readonly errno: number) {}
  }

  it.each([
    ['a full disk from Node', Object.assign(new Error('no space left on device'), { code: 'ENOSPC' }), 'persistent_data_full', 'is full (ENOSPC)'],
    ['a quota from Node', Object.assign(new Error('disk quota exceeded'), { code: 'EDQUOT' }), 'persistent_data_full', 'is over its disk quota (EDQUOT)'],
    ['a full disk inside PGlite', new ErrnoError(51), 'persistent_data_full', 'is full (ENOSPC)'],
    ['a quota inside PGlite', new ErrnoError(19), 'persistent_data_full', 'is over its disk quota (EDQUOT)'],
    ['a read-only file system inside PGlite', new ErrnoError(69), 'persistent_data_unwritable', 'is on a read-only file system (EROFS)'],
    ['a denied permission inside PGlite', new ErrnoError(2), 'persistent_data_unwritable', 'do not allow it (EACCES)'],
    ['a denied permission from Node', Object.assign(new Error('permission denied'), { code: 'EACCES' }), 'persistent_data_unwritable', 'do not allow it (EACCES)'],
  ])('%s', (_name, cause, code, phrase) => {
    const error = unwritable('/data', '/data/pglite', cause)
    expect(error.code).toBe(code)
    expect(error.message).toContain(phrase)
    expect(error.message).not.toContain('undefined')
  })

  it('describes a thrown value that is not an Error without saying "undefined"', () => {
    expect(messageOf(new ErrnoError(51))).toBe('ErrnoError (errno 51) without a message')
    expect(messageOf({})).toBe('Object without a message')
    expect(messageOf(Object.assign(new Error(''), { code: 'EIO' }))).toBe('Error (EIO) without a message')
    expect(messageOf(undefined)).toBe('undefined thrown')
    expect(messageOf('')).toBe('an error without a message')
  })
})
