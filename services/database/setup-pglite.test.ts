import { chmod, readFile, stat } from 'node:fs/promises'
import { join } from 'node:path'
import { describe, expect, it } from 'vitest'
import { appForTest, postSetup, startedAppForTest } from '../../test/helpers/apps.js'
import { REAL_TAGS } from '../../test/helpers/migrations.js'

describe('setting up the embedded database through the API', () => {
  it('reports an unconfigured database before setup, in the seed document\'s shape', async () => {
    const t = await startedAppForTest()
    const res = await t.app.inject({ method: 'GET', url: '/api/db/status' })
    expect(res.statusCode).toBe(200)
    expect(res.json()).toMatchObject({ configured: false, initialized: false, dialect: null, type: null, source: null, phase: 'unconfigured' })
  })

  it('answers 503 database_not_ready from getDb() and /ready before setup', async () => {
    const t = await startedAppForTest()
    expect(() => t.app.getDb()).toThrow(/No database is set up yet.*\/setup/)
    const res = await t.app.inject({ method: 'GET', url: '/ready' })
    expect(res.statusCode).toBe(503)
    expect(res.json()).toMatchObject({ error: 'database_not_ready' })
  })

  it('sets up PGlite, applies the migrations, writes the selection file, and hands out the new connection without a restart', { timeout: 90_000 }, async () => {
    // A fresh PGlite takes seconds to create, and far longer on a busy machine.
    const t = await startedAppForTest()
    const res = await postSetup(t, 'pglite')
    expect(res.statusCode).toBe(200)
    expect(res.json()).toMatchObject({ restart_required: false, database_type: 'pglite', migrations_applied: REAL_TAGS })

    const selection = JSON.parse(await readFile(join(t.dataDir, 'db.selection.json'), 'utf8'))
    expect(selection).toEqual({ type: 'pglite', selectedAt: expect.any(String), version: '1.0' })
    expect((await stat(join(t.dataDir, 'pglite'))).isDirectory()).toBe(true)
    // PGlite writes its files 0666: the folder keeps every other user out.
    expect((await stat(join(t.dataDir, 'pglite'))).mode & 0o777).toBe(0o700)

    const status = (await t.app.inject({ method: 'GET', url: '/api/db/status' })).json()
    expect(status).toMatchObject({ configured: true, initialized: true, dialect: 'postgresql', type: 'pglite', source: 'file', phase: 'ready' })
    expect(status.migrations).toEqual({ total: REAL_TAGS.length, applied: REAL_TAGS.length, pending: [], unknown: 0, changed: [] })
    expect((await t.app.inject({ method: 'GET', url: '/ready' })).statusCode).toBe(200)
    expect(await t.app.getDb().query.instance.findMany()).toEqual([expect.objectContaining({ databaseType: 'pglite', singleton: true })])
  })

  it('answers 409 with the chosen type when asked to set up again, touching nothing', async () => {
    const t = await appForTest({}, { seedPglite: true })
    await chmod(join(t.dataDir, 'pglite'), 0o755) // as every folder made before the server restricted it
    await t.ready()
    expect((await stat(join(t.dataDir, 'pglite'))).mode & 0o777).toBe(0o700)
    const before = await readFile(join(t.dataDir, 'db.selection.json'), 'utf8')
    const res = await postSetup(t, 'postgresql')
    expect(res.statusCode).toBe(409)
    expect(res.json()).toMatchObject({ error: 'already_configured', database_type: 'pglite', message: expect.stringContaining('already set up') })
    expect(await readFile(join(t.dataDir, 'db.selection.json'), 'utf8')).toBe(before)
  })
})
