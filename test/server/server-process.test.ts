import { readFile } from 'node:fs/promises'
import { request, Agent } from 'node:http'
import { join } from 'node:path'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { exists, tempDir } from '../helpers/app.js'
import { startBlackhole } from '../helpers/network.js'
import { seedPgliteSetup } from '../helpers/pglite-template.js'
import { listeningAt, runTs, waitFor, type Running } from '../helpers/processes.js'

describe('the server process on the embedded database', () => {
  let dataDir: string
  let server: Running
  let base: string
  // A PostgreSQL that never answers, so a preflight request stays in flight for seconds.
  let hole: Awaited<ReturnType<typeof startBlackhole>>

  beforeAll(async () => {
    dataDir = await tempDir()
    await seedPgliteSetup(dataDir)
    hole = await startBlackhole()
    server = runTs('services/server.ts', {
      PERSISTENT_DATA_DIR: dataDir,
      PORT: '0',
      LOG_LEVEL: 'info',
      POSTGRES_HOST: '127.0.0.1',
      POSTGRES_PORT: String(hole.port),
      POSTGRES_USER: 'app',
      POSTGRES_DATABASE: 'app',
    })
    base = await waitFor('"Server listening at"', server, 30_000, async () => listeningAt(server.output()))
  })
  afterAll(async () => {
    await server?.stop()
    await hole?.close()
  })

  it('listens at once, then serves a ready database over a real socket', async () => {
    // The database opens in the background: /ready answers 503 until it is up.
    const deadline = Date.now() + 30_000
    let res = await fetch(`${base}/ready`)
    while (res.status !== 200 && Date.now() < deadline) {
      expect(res.status).toBe(503)
      await new Promise((resolve) => setTimeout(resolve, 100))
      res = await fetch(`${base}/ready`)
    }
    expect(res.status).toBe(200)
    expect(await (await fetch(`${base}/api/db/status`)).json()).toMatchObject({ initialized: true, type: 'pglite' })
  })

  it('generates an admin token into a 0600 file and logs where it is, never its value', async () => {
    const path = join(dataDir, 'admin.token')
    const token = (await readFile(path, 'utf8')).trim()
    expect(token.length).toBeGreaterThanOrEqual(32)
    expect((await import('node:fs')).statSync(path).mode & 0o777).toBe(0o600)
    expect(server.output()).toContain(`cat ${path}`)
    expect(server.output()).not.toContain(token)
  })

  it('keeps a second process off its PGlite folder: db:up fails with a clear message', async () => {
    const dbUp = runTs('services/database/db-up.ts', { PERSISTENT_DATA_DIR: dataDir })
    expect((await dbUp.exited).code).toBe(1)
    expect(dbUp.output()).toContain(`is in use by process ${server.child.pid} on this machine`)
    expect(dbUp.output()).toContain('stop that process first')
  })

  it('shuts down on SIGTERM: answers the request in flight, exits 0, closes the database and releases its lock', async () => {
    expect(await exists(join(dataDir, 'pglite.lock'))).toBe(true)
    // A keep-alive client with a request in flight when the signal comes: it gets its answer,
    // and its connection does not hold the shutdown open (which would end in a forced exit 1).
    const agent = new Agent({ keepAlive: true })
    const token = (await readFile(join(dataDir, 'admin.token'), 'utf8')).trim()
    const inFlight = new Promise<{ status: number; connection: string | undefined }>((resolve, reject) => {
      request(`${base}/api/setup/preflight`, { method: 'POST', agent, headers: { authorization: `Bearer ${token}` } }, (res) => {
        res.resume()
        res.on('end', () => resolve({ status: res.statusCode ?? 0, connection: res.headers.connection }))
      })
        .on('error', reject)
        .end()
    })
    await hole.connected()
    server.child.kill('SIGTERM')
    expect(await inFlight).toEqual({ status: 200, connection: 'close' })
    expect(await server.exited).toEqual({ code: 0, signal: null })
    agent.destroy()
    expect(server.output()).toContain('"signal":"SIGTERM"')
    expect(await exists(join(dataDir, 'pglite.lock'))).toBe(false)
  })

  it('refuses to start with a bad variable, naming it', async () => {
    const bad = runTs('services/server.ts', { PERSISTENT_DATA_DIR: dataDir, PORT: 'http' })
    expect((await bad.exited).code).toBe(1)
    expect(bad.output()).toContain('PORT: expected a whole number from 0 to 65535, got "http"')
  })
})
