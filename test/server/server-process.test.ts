import { readFile, stat, writeFile } from 'node:fs/promises'
import { request, Agent } from 'node:http'
import { createServer, type AddressInfo } from 'node:net'
import { join } from 'node:path'
import { afterAll, beforeAll, describe, expect, it, onTestFinished } from 'vitest'
import { exists, tempDir } from '../helpers/app.js'
import { startBlackhole } from '../helpers/network.js'
import { seedPgliteSetup } from '../helpers/pglite-template.js'
import { listeningAt, runTs, waitFor, type Running } from '../helpers/processes.js'

interface Started {
  server: Running
  base: string
  dataDir: string
}

/** `npm start` on an already set-up embedded database; stopped when the test ends, unless `stopWith` says otherwise. */
async function startServer(env: Record<string, string> = {}, stopWith: (stop: () => Promise<void>) => void = onTestFinished): Promise<Started> {
  const dataDir = await tempDir()
  await seedPgliteSetup(dataDir)
  const server = runTs('services/server.ts', { PERSISTENT_DATA_DIR: dataDir, PORT: '0', LOG_LEVEL: 'info', ...env })
  stopWith(async () => {
    await server.stop()
  })
  const base = await waitFor('"Server listening at"', server, 30_000, async () => listeningAt(server.output()))
  return { server, base, dataDir }
}

async function untilReady({ server, base }: Started): Promise<void> {
  await waitFor('/ready 200', server, 30_000, async () => ((await fetch(`${base}/ready`)).status === 200 ? true : undefined))
}

// Starting the server takes seconds (far more on a busy machine): each test gets a minute.
describe('the server process on the embedded database', { timeout: 60_000 }, () => {
  it('listens at once, answers /ready 503 until the database is up, then 200 over a real socket', async () => {
    const started = await startServer()
    // The database opens in the background: every answer before the first 200 is a 503.
    const seen: number[] = []
    const deadline = Date.now() + 30_000
    while (seen.at(-1) !== 200 && Date.now() < deadline) {
      seen.push((await fetch(`${started.base}/ready`)).status)
      if (seen.at(-1) !== 200) await new Promise((resolve) => setTimeout(resolve, 100))
    }
    expect(seen.at(-1)).toBe(200)
    expect(seen.slice(0, -1).every((status) => status === 503)).toBe(true)
    expect(await (await fetch(`${started.base}/api/db/status`)).json()).toMatchObject({ initialized: true, type: 'pglite' })
  })

  describe('once it is ready', () => {
    // Shared by the tests below, which only read from it; each test that changes a server starts its own.
    let ready: Started
    const stops: (() => Promise<void>)[] = []
    beforeAll(async () => {
      ready = await startServer({}, (stop) => stops.push(stop))
      await untilReady(ready)
    }, 90_000)
    afterAll(() => Promise.all(stops.map((stop) => stop())))

    it('generated an admin token into a 0600 file and logs where it is, never its value', async () => {
      const path = join(ready.dataDir, 'admin.token')
      const token = (await readFile(path, 'utf8')).trim()
      expect(token.length).toBeGreaterThanOrEqual(32)
      expect((await stat(path)).mode & 0o777).toBe(0o600)
      expect(ready.server.output()).toContain(`cat ${path}`)
      expect(ready.server.output()).not.toContain(token)
    })

    it('keeps a second process off its PGlite folder: db:up fails with a clear message', async () => {
      const dbUp = runTs('services/database/cli/main.ts', { PERSISTENT_DATA_DIR: ready.dataDir }, ['up'])
      expect((await dbUp.exited).code).toBe(1)
      expect(dbUp.output()).toContain(`is in use by process ${ready.server.child.pid} on this machine`)
      expect(dbUp.output()).toContain('stop that process first')
    })
  })

  it('shuts down on SIGTERM: answers the request in flight, exits 0, closes the database and releases its lock', async () => {
    // A PostgreSQL that never answers, so a preflight request stays in flight for seconds.
    const hole = await startBlackhole()
    onTestFinished(() => hole.close())
    const started = await startServer({ POSTGRES_HOST: '127.0.0.1', POSTGRES_PORT: String(hole.port), POSTGRES_USER: 'app', POSTGRES_DATABASE: 'app' })
    const { server, base, dataDir } = started
    await untilReady(started)
    expect(await exists(join(dataDir, 'pglite.lock'))).toBe(true)
    // A keep-alive client with a request in flight when the signal comes: it gets its answer,
    // and its connection does not hold the shutdown open (which would end in a forced exit 1).
    const agent = new Agent({ keepAlive: true })
    onTestFinished(() => agent.destroy())
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
    expect(server.output()).toContain('"signal":"SIGTERM"')
    expect(await exists(join(dataDir, 'pglite.lock'))).toBe(false)
  })

  it('refuses to start with a bad variable, naming it', async () => {
    const bad = runTs('services/server.ts', { PERSISTENT_DATA_DIR: await tempDir(), PORT: 'http' })
    expect((await bad.exited).code).toBe(1)
    expect(bad.output()).toContain('PORT: expected a whole number from 0 to 65535, got "http"')
  })

  it('says another process holds its port, and to set PORT, then exits 1', async () => {
    const taken = createServer()
    await new Promise<void>((resolve) => taken.listen(0, '127.0.0.1', resolve))
    onTestFinished(() => void taken.close())
    const port = (taken.address() as AddressInfo).port
    const server = runTs('services/server.ts', { PERSISTENT_DATA_DIR: await tempDir(), PORT: String(port), HOST: '127.0.0.1' })
    expect((await server.exited).code).toBe(1)
    expect(server.output()).toContain(`could not listen on 127.0.0.1:${port}: another process is already listening there (another groundwork?). Stop it, or set PORT to a free port`)
  })

  it('refuses to start when PERSISTENT_DATA_DIR, or a folder above it, is a file, saying which', async () => {
    const file = join(await tempDir(), 'not-a-folder')
    await writeFile(file, 'x')
    for (const [dataDir, said] of [
      [file, `PERSISTENT_DATA_DIR (${file}) is a file, not a folder.`],
      [join(file, 'data'), `PERSISTENT_DATA_DIR (${join(file, 'data')}) cannot be a folder: ${file}, above it, is a file.`],
    ]) {
      const server = runTs('services/server.ts', { PERSISTENT_DATA_DIR: dataDir!, PORT: '0' })
      expect((await server.exited).code).toBe(1)
      expect(server.output()).toContain(said)
      // Before, the token file's ENOTDIR ended it, or with ADMIN_TOKEN it served a selection file "invalid".
      expect(server.output()).not.toContain('ENOTDIR')
    }
  })
})
