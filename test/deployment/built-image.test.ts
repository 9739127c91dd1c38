import { execFile } from 'node:child_process'
import { existsSync, readFileSync } from 'node:fs'
import { rm } from 'node:fs/promises'
import { join } from 'node:path'
import { promisify } from 'node:util'
import { afterAll, beforeAll, describe, expect, it, onTestFinished } from 'vitest'
import { TEST_ADMIN_TOKEN } from '../helpers/app.js'
import { closedPort } from '../helpers/network.js'
import { seedPgliteSetup } from '../helpers/pglite-template.js'
import { crawlPageModules, publicScripts } from '../helpers/setup-page.js'
import { listeningAt, run, waitFor, type Running } from '../helpers/processes.js'
import { all, env as dockerEnv, execForm, healthcheckCommand } from './dockerfile.js'
import { PROJECT_ROOT, layOutRuntimeImage, type Layout } from './image-layout.js'

// What the image would run, checked by running the compiled code laid out exactly as the
// Dockerfile's runtime stage lays it out (no Docker engine here to build the image itself).

const journal = JSON.parse(readFileSync(join(PROJECT_ROOT, 'drizzle', 'meta', '_journal.json'), 'utf8')) as { entries: { tag: string }[] }
const TAGS = journal.entries.map((entry) => entry.tag)
const DB_UP = ['node', 'dist/services/database/cli/main.js', 'up']
const BUILT_ENTRIES = ['dist/services/server.js', DB_UP[1]!]

beforeAll(async () => {
  try {
    await promisify(execFile)('npm', ['run', 'build'], { cwd: PROJECT_ROOT })
  } catch (error) {
    const { stdout, stderr } = error as { stdout?: string; stderr?: string }
    throw new Error(`npm run build failed, so the image build would too:\n${stdout ?? ''}${stderr ?? ''}`)
  }
  // A build that "succeeds" without its output is a broken build: fail here, never skip below.
  const missing = BUILT_ENTRIES.filter((entry) => !existsSync(join(PROJECT_ROOT, entry)))
  if (missing.length > 0) throw new Error(`npm run build exited 0 but did not write ${missing.join(', ')}: check tsconfig.build.json (include, outDir)`)
}, 180_000)

/** The runtime stage's ENV, with a free loopback port so the test neither collides nor listens on the network. */
function imageEnv(layout: Layout, extra: Record<string, string>): Record<string, string> {
  return { ...dockerEnv(layout.stage), PORT: '0', HOST: '127.0.0.1', ADMIN_TOKEN: TEST_ADMIN_TOKEN, ...extra }
}

function imageCommand(layout: Layout): string[] {
  const cmd = execForm(all(layout.stage, 'CMD').at(-1) ?? '')
  if (!cmd) throw new Error('The runtime stage has no exec-form CMD')
  return cmd
}

async function get(url: string): Promise<{ status: number; body: Record<string, unknown> }> {
  const res = await fetch(url, { signal: AbortSignal.timeout(5_000) })
  return { status: res.status, body: (await res.json()) as Record<string, unknown> }
}

async function startImage(layout: Layout, env: Record<string, string>): Promise<{ server: Running; url: string }> {
  const server = run(imageCommand(layout), layout.dir, imageEnv(layout, env))
  // The server listens at once; the database (a fresh PGlite: seconds) comes up in the background.
  const url = await waitFor('"Server listening at"', server, 90_000, async () => listeningAt(server.output()))
  return { server, url }
}

describe('the runtime image, laid out from the Dockerfile, on a fresh embedded database', () => {
  let layout: Layout
  let server: Running
  let url: string

  beforeAll(async () => {
    layout = await layOutRuntimeImage()
    ;({ server, url } = await startImage(layout, { DB_TYPE: 'pglite' }))
    // Every test below looks at a server whose database is up, whichever runs first or alone.
    await waitFor('/ready 200', server, 90_000, async () => ((await get(`${url}/ready`)).status === 200 ? true : undefined))
  }, 180_000)
  afterAll(async () => {
    await server?.stop()
    if (layout) await rm(layout.dir, { recursive: true, force: true })
  })

  it('applies every migration it ships and answers /ready 200', async () => {
    expect(await get(`${url}/ready`)).toEqual({ status: 200, body: { status: 'ready' } })
    const status = (await get(`${url}/api/db/status`)).body
    expect(status).toMatchObject({ configured: true, initialized: true, type: 'pglite', source: 'environment', last_error: null })
    expect(status.migrations).toEqual({ total: TAGS.length, applied: TAGS.length, pending: [], unknown: 0, changed: [] })
    for (const tag of TAGS) expect(server.output()).toContain(`"migration":"${tag}"`)
  }, 60_000)

  it('keeps its data in the folder the Dockerfile declares as the VOLUME', () => {
    const volume = all(layout.stage, 'VOLUME')
    expect(volume).toEqual(['/app/persistent_data'])
    expect(existsSync(join(layout.dir, 'persistent_data', 'pglite'))).toBe(true)
  })

  it('ships the setup page and every module script it loads, subfolders included', async () => {
    const page = await fetch(`${url}/setup/`, { signal: AbortSignal.timeout(5_000) })
    expect(page.status).toBe(200)
    const modules = await crawlPageModules(async (path) => {
      const res = await fetch(`${url}${path}`, { signal: AbortSignal.timeout(5_000) })
      return { status: res.status, contentType: res.headers.get('content-type') ?? undefined, csp: res.headers.get('content-security-policy') ?? undefined, body: await res.text() }
    })
    for (const [path, module] of modules) expect({ path, status: module.status, type: module.contentType }).toEqual({ path, status: 200, type: expect.stringMatching(/^(text|application)\/javascript/) })
    expect([...modules.keys()].sort()).toEqual(publicScripts())
  })

  it("passes the Dockerfile's HEALTHCHECK while it runs and fails it when nothing listens", async () => {
    const probe = healthcheckCommand(layout.stage)
    expect(probe, 'an exec-form HEALTHCHECK CMD').not.toBeNull()
    const port = new URL(url).port

    const healthy = await run(probe!, layout.dir, { PORT: port }).exited
    expect(healthy).toEqual({ code: 0, signal: null })

    const unhealthy = await run(probe!, layout.dir, { PORT: String(await closedPort()) }).exited
    expect(unhealthy.code).not.toBe(0)
  })

  it('exits 0 on SIGTERM, as `docker stop` sends it to the exec-form CMD', async () => {
    const exit = await server.stop()
    expect(exit, server.output()).toEqual({ code: 0, signal: null })
    expect(server.output()).toContain('"signal":"SIGTERM"')
  })
})

describe('the runtime image without drizzle/ (the Dockerfile line removed), on an existing database', () => {
  let layout: Layout
  let server: Running
  let url: string

  beforeAll(async () => {
    layout = await layOutRuntimeImage({ skip: 'drizzle' })
    expect(existsSync(join(layout.dir, 'drizzle'))).toBe(false)
    await seedPgliteSetup(join(layout.dir, 'persistent_data'))
    ;({ server, url } = await startImage(layout, { DB_TYPE: 'pglite' }))
  }, 120_000)
  afterAll(async () => {
    await server?.stop()
    if (layout) await rm(layout.dir, { recursive: true, force: true })
  })

  it('never starts "fine": the status reports migrations_missing and /ready answers 503', async () => {
    const status = await waitFor('a last_error in the status', server, 30_000, async () => {
      const body = (await get(`${url}/api/db/status`)).body
      return body.last_error ? body : undefined
    })
    expect(status).toMatchObject({ configured: true, initialized: false, last_error: { code: 'migrations_missing' } })
    expect((status.last_error as { message: string }).message).toContain(join(layout.dir, 'drizzle', 'meta', '_journal.json'))

    const ready = await get(`${url}/ready`)
    expect(ready.status).toBe(503)
    expect(ready.body).toMatchObject({ error: 'database_not_ready' })
    expect(server.output()).toContain('migrations_missing')
  }, 60_000)
})

describe('db-up in the runtime image', () => {
  const layouts: Layout[] = []
  afterAll(() => Promise.all(layouts.map((layout) => rm(layout.dir, { recursive: true, force: true }))))

  async function dbUp(options: { skip?: string }): Promise<{ code: number | null; output: string }> {
    const layout = await layOutRuntimeImage(options)
    layouts.push(layout)
    await seedPgliteSetup(join(layout.dir, 'persistent_data'))
    const running = run(DB_UP, layout.dir, imageEnv(layout, {}))
    const exit = await running.exited
    return { code: exit.code, output: running.output() }
  }

  it('finds the shipped migrations and reports the database up to date', async () => {
    const { code, output } = await dbUp({})
    expect(code, output).toBe(0)
    expect(output).toContain('up to date')
  })

  it('exits non-zero naming the missing journal when drizzle/ is not in the image', async () => {
    const { code, output } = await dbUp({ skip: 'drizzle' })
    expect(code).toBe(1)
    expect(output).toMatch(/migrations journal .*_journal\.json is missing/)
  })
})

describe('the runtime image without the setup page (its COPY line removed)', () => {
  const layouts: Layout[] = []
  afterAll(() => Promise.all(layouts.map((layout) => rm(layout.dir, { recursive: true, force: true }))))

  it('refuses to start, naming the folders it looked in', async () => {
    const layout = await layOutRuntimeImage({ skip: 'services/setup-wizard/public' })
    layouts.push(layout)
    expect(existsSync(join(layout.dir, 'services', 'setup-wizard', 'public'))).toBe(false)
    const server = run(imageCommand(layout), layout.dir, imageEnv(layout, {}))
    onTestFinished(async () => {
      await server.stop()
    })
    const exit = await server.exited
    expect(exit.code, server.output()).toBe(1)
    expect(server.output()).toContain(`The setup page's files are missing (looked in ${join(layout.dir, 'dist', 'services', 'setup-wizard', 'public')}/ and ${join(layout.dir, 'services', 'setup-wizard', 'public')})`)
    expect(listeningAt(server.output())).toBeUndefined()
  }, 60_000)
})
