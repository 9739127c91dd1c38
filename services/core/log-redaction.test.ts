import { afterEach, describe, expect, it } from 'vitest'
import { buildTestApp, type TestApp } from '../../test/helpers/app.js'
import { redactUrl } from './logger.js'

const apps: TestApp[] = []
afterEach(async () => {
  await Promise.all(apps.splice(0).map((t) => t.close()))
})

describe('request logs', () => {
  it('never record a token sent in a query string, though the request is refused', async () => {
    const t = await buildTestApp()
    apps.push(t)
    const secret = 'query-token-s3cr3t-0123456789'
    const res = await t.app.inject({ method: 'GET', url: `/api/setup/options?token=${secret}&lang=en` })
    expect(res.statusCode).toBe(401)
    const logs = t.logs.join('')
    expect(logs).not.toContain(secret)
    expect(logs).toContain('"url":"/api/setup/options?token=[redacted]&lang=en"')
  })
})

describe('redactUrl', () => {
  it('hides the value of every credential-like parameter and keeps the rest', () => {
    expect(redactUrl('/a?password=p1&Key=k&api_key=k2&client_secret=s&access_token=t&page=2&sort=name')).toBe(
      '/a?password=[redacted]&Key=[redacted]&api_key=[redacted]&client_secret=[redacted]&access_token=[redacted]&page=2&sort=name',
    )
    expect(redactUrl('/a?auth=x&sig=y&jwt=z&session_id=w')).toBe('/a?auth=[redacted]&sig=[redacted]&jwt=[redacted]&session_id=[redacted]')
  })

  it('finds encoded names and leaves URLs without credentials untouched', () => {
    expect(redactUrl('/a?%74oken=abc')).toBe('/a?%74oken=[redacted]')
    expect(redactUrl('/a?token')).toBe('/a?token')
    expect(redactUrl('/setup/choose')).toBe('/setup/choose')
    expect(redactUrl('/a?q=token%3Dx')).toBe('/a?q=token%3Dx')
  })
})
