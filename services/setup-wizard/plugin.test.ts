import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { buildTestApp, type TestApp } from '../../test/helpers/app.js'
import { crawlPageModules, publicScripts } from '../../test/helpers/setup-page.js'
import { PAGE_STEPS } from './plugin.js'

describe('serving the /setup page', () => {
  let t: TestApp

  beforeAll(async () => {
    t = await buildTestApp()
    await t.app.ready()
  })
  afterAll(() => t.close())

  it('redirects / to /setup/ while no database is chosen', async () => {
    const res = await t.app.inject({ method: 'GET', url: '/' })
    expect(res.statusCode).toBe(302)
    expect(res.headers.location).toBe('/setup/')
  })

  it('redirects the bare /setup to /setup/ instead of answering 404', async () => {
    const res = await t.app.inject({ method: 'GET', url: '/setup' })
    expect(res.statusCode).toBe(301)
    expect(res.headers.location).toBe('/setup/')
  })

  it('serves the page at /setup/ with a policy that lets it load nothing from elsewhere', async () => {
    const res = await t.app.inject({ method: 'GET', url: '/setup/' })
    expect(res.statusCode).toBe(200)
    expect(res.headers['content-type']).toBe('text/html; charset=utf-8')
    expect(res.body).toContain('<script type="module" src="/setup/app.js"></script>')
    expect(res.body).not.toMatch(/https?:\/\//)
    expect(res.headers['content-security-policy']).toContain("default-src 'none'; script-src 'self'")
    expect(res.headers['content-security-policy']).toContain("frame-ancestors 'none'")
    expect(res.headers['cache-control']).toBe('no-cache')
  })

  it.each(PAGE_STEPS)('serves the same page on a reload of /setup/%s', async (step) => {
    const [page, index] = await Promise.all([
      t.app.inject({ method: 'GET', url: `/setup/${step}` }),
      t.app.inject({ method: 'GET', url: '/setup/' }),
    ])
    expect(page.statusCode).toBe(200)
    expect(page.body).toBe(index.body)
  })

  it('serves the script and the style sheet with their types, and nothing it does not have', async () => {
    const script = await t.app.inject({ method: 'GET', url: '/setup/app.js' })
    expect(script.statusCode).toBe(200)
    expect(script.headers['content-type']).toMatch(/^(text|application)\/javascript/)
    const style = await t.app.inject({ method: 'GET', url: '/setup/style.css' })
    expect(style.headers['content-type']).toMatch(/^text\/css/)
    const missing = await t.app.inject({ method: 'GET', url: '/setup/secrets.txt' })
    expect(missing.statusCode).toBe(404)
    expect(missing.json()).toMatchObject({ error: 'not_found' })
    const traversal = await t.app.inject({ method: 'GET', url: '/setup/..%2f..%2fpackage.json' })
    expect(traversal.statusCode).toBe(404)
  })

  it('serves every module app.js imports, in subfolders too, as JavaScript under the same policy; none is left unused', async () => {
    const modules = await crawlPageModules(async (url) => {
      const res = await t.app.inject({ method: 'GET', url })
      return { status: res.statusCode, contentType: res.headers['content-type']?.toString(), csp: res.headers['content-security-policy']?.toString(), body: res.body }
    })
    // A browser refuses a module script served with any other type.
    for (const [path, module] of modules) {
      expect({ path, status: module.status, type: module.contentType }).toEqual({ path, status: 200, type: expect.stringMatching(/^(text|application)\/javascript/) })
      expect(module.csp, path).toContain("script-src 'self'")
    }
    expect([...modules.keys()].sort()).toEqual(publicScripts())
    expect(modules.has('/setup/steps/unlock.js')).toBe(true)
  })
})

describe('/ once a database is chosen', () => {
  let t: TestApp

  beforeAll(async () => {
    t = await buildTestApp({}, { seedPglite: true })
    await t.ready()
  })
  afterAll(() => t.close())

  it('describes the service instead of redirecting to the setup', async () => {
    const res = await t.app.inject({ method: 'GET', url: '/' })
    expect(res.statusCode).toBe(200)
    expect(res.json()).toEqual({
      service: 'groundwork',
      database: { type: 'pglite', ready: true },
      links: { status: '/api/db/status', health: '/health', ready: '/ready', setup: '/setup/' },
    })
  })
})
