import { readFile, stat } from 'node:fs/promises'
import { join } from 'node:path'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { AUTH, buildTestApp, type TestApp } from '../../test/helpers/app.js'
import { REAL_TAGS } from '../../test/helpers/migrations.js'

describe('setting up the embedded database through the API', () => {
  let t: TestApp

  beforeAll(async () => {
    t = await buildTestApp()
    await t.app.ready()
  })
  afterAll(() => t.close())

  it('reports an unconfigured database before setup, in the seed document\'s shape', async () => {
    const res = await t.app.inject({ method: 'GET', url: '/api/db/status' })
    expect(res.statusCode).toBe(200)
    expect(res.json()).toMatchObject({ configured: false, initialized: false, dialect: null, type: null, source: null })
  })

  it('answers 503 database_not_ready from getDb() and /ready before setup', async () => {
    expect(() => t.app.getDb()).toThrow(/No database is set up yet.*\/setup/)
    const res = await t.app.inject({ method: 'GET', url: '/ready' })
    expect(res.statusCode).toBe(503)
    expect(res.json()).toMatchObject({ error: 'database_not_ready' })
  })

  it('sets up PGlite, applies the migrations and writes the selection file', async () => {
    const res = await t.app.inject({ method: 'POST', url: '/api/db/setup', headers: AUTH, payload: { type: 'pglite' } })
    expect(res.statusCode).toBe(200)
    expect(res.json()).toMatchObject({ restart_required: false, database_type: 'pglite', migrations_applied: REAL_TAGS })

    const selection = JSON.parse(await readFile(join(t.dataDir, 'db.selection.json'), 'utf8'))
    expect(selection).toEqual({ type: 'pglite', selectedAt: expect.any(String), version: '1.0' })
    expect((await stat(join(t.dataDir, 'pglite'))).isDirectory()).toBe(true)

    const status = (await t.app.inject({ method: 'GET', url: '/api/db/status' })).json()
    expect(status).toMatchObject({ configured: true, initialized: true, dialect: 'postgresql', type: 'pglite', source: 'file' })
    expect(status.migrations).toEqual({ total: REAL_TAGS.length, applied: REAL_TAGS.length, pending: [], unknown: 0, changed: [] })
    expect((await t.app.inject({ method: 'GET', url: '/ready' })).statusCode).toBe(200)
  })

  it('hands out the new connection through getDb() without a restart', async () => {
    const rows = await t.app.getDb().query.instance.findMany()
    expect(rows).toEqual([expect.objectContaining({ databaseType: 'pglite', singleton: true })])
  })

  it('answers 409 with the chosen type when asked to set up again, touching nothing', async () => {
    const before = await readFile(join(t.dataDir, 'db.selection.json'), 'utf8')
    const res = await t.app.inject({ method: 'POST', url: '/api/db/setup', headers: AUTH, payload: { type: 'postgresql' } })
    expect(res.statusCode).toBe(409)
    expect(res.json()).toMatchObject({ error: 'already_configured', database_type: 'pglite', message: expect.stringContaining('already set up') })
    expect(await readFile(join(t.dataDir, 'db.selection.json'), 'utf8')).toBe(before)
  })
})
