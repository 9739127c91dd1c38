import Fastify from 'fastify'
import { describe, expect, it } from 'vitest'
import { defineErrors } from '../errors.js'
import { registerErrorHandling } from './error-handler.js'

const testError = defineErrors({ test_translated: 503 })

/** An app whose one translator claims every error it is shown, and records what it was shown. */
async function appWithGreedyTranslator(thrown: () => Error) {
  const app = Fastify({ logger: false })
  const shown: unknown[] = []
  registerErrorHandling(app)((error) => {
    shown.push(error)
    return testError('test_translated', 'translated', { details: { retry_after_s: 7 } })
  })
  app.get('/fail', async () => {
    throw thrown()
  })
  await app.ready()
  return { app, shown }
}

describe('the error handler and translators', () => {
  it('answers with what a translator makes of an error no service declared, Retry-After included', async () => {
    const { app, shown } = await appWithGreedyTranslator(() => Object.assign(new Error('connect ECONNREFUSED'), { code: 'ECONNREFUSED' }))
    const res = await app.inject({ method: 'GET', url: '/fail' })
    expect(res.statusCode).toBe(503)
    expect(res.headers['retry-after']).toBe('7')
    expect(res.json()).toEqual({ error: 'test_translated', message: 'translated', retry_after_s: 7 })
    expect(shown).toHaveLength(1)
  })

  it('never shows it the client\'s own errors: a body the client aborted stays a 400, whatever its code', async () => {
    const { app, shown } = await appWithGreedyTranslator(() => Object.assign(new Error('aborted'), { code: 'ECONNRESET', statusCode: 400 }))
    const res = await app.inject({ method: 'GET', url: '/fail' })
    expect(res.statusCode).toBe(400)
    expect(res.json()).toMatchObject({ error: 'invalid_request', message: 'aborted' })
    expect(shown).toHaveLength(0)
  })

  it('never shows it a ServiceError, which already says what it means', async () => {
    const { app, shown } = await appWithGreedyTranslator(() => defineErrors({ test_own: 409 })('test_own', 'own'))
    const res = await app.inject({ method: 'GET', url: '/fail' })
    expect(res.statusCode).toBe(409)
    expect(shown).toHaveLength(0)
  })
})
