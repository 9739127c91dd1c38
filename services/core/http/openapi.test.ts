import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { buildTestApp, type TestApp } from '../../../test/helpers/app.js'

describe('GET /api/openapi.json', () => {
  let t: TestApp
  beforeAll(async () => {
    t = await buildTestApp()
  })
  afterAll(() => t.close())

  it('documents every route from its schemas, with the admin routes marked as needing the bearer token', async () => {
    const res = await t.app.inject({ method: 'GET', url: '/api/openapi.json' })
    expect(res.statusCode).toBe(200)
    const spec = res.json()
    expect(spec.components.securitySchemes.adminToken).toMatchObject({ type: 'http', scheme: 'bearer' })
    expect(Object.keys(spec.paths)).toEqual(expect.arrayContaining(['/api/db/status', '/api/db/setup', '/health', '/ready', '/api/setup/options', '/api/setup/preflight']))
    const setup = spec.paths['/api/db/setup'].post
    expect(setup.security).toEqual([{ adminToken: [] }])
    expect(setup.requestBody.content['application/json'].schema.properties.type.enum).toEqual(['pglite', 'postgresql'])
    expect(Object.keys(setup.responses)).toEqual(expect.arrayContaining(['200', '400', '401', '409', '429', '500', '502', '503']))
    expect(spec.paths['/api/db/status'].get.responses['200'].content['application/json'].schema.required).toContain('configured')
  })
})
