import Fastify from 'fastify'
import { Type } from 'typebox'
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

  it('says which values a union of constants accepts, once, wherever it is; other unions keep their own messages', async () => {
    const app = Fastify({ logger: false, ajv: { customOptions: { removeAdditional: false, coerceTypes: false } } })
    registerErrorHandling(app)
    const state = Type.Union([Type.Literal('created'), Type.Literal('failed')])
    app.post('/union', {
      schema: {
        querystring: Type.Object({ state: Type.Optional(state) }),
        body: Type.Object({ nested: Type.Object({ state }), either: Type.Optional(Type.Union([Type.String(), Type.Number()])) }),
      },
    }, async () => ({ ok: true }))
    await app.ready()

    const query = await app.inject({ method: 'POST', url: '/union?state=bogus', payload: { nested: { state: 'failed' } } })
    expect(query.statusCode).toBe(400)
    expect(query.json()).toEqual({ error: 'invalid_request', message: 'Invalid querystring: querystring.state must be one of: created, failed.' })

    const body = await app.inject({ method: 'POST', url: '/union', payload: { nested: { state: 'bogus' } } })
    expect(body.json().message).toBe('Invalid body: body.nested.state must be one of: created, failed.')

    const mixed = await app.inject({ method: 'POST', url: '/union', payload: { nested: { state: 'created' }, either: true } })
    expect(mixed.json().message).toBe('Invalid body: body.either must be string; body.either must be number; body.either must match a schema in anyOf.')

    expect((await app.inject({ method: 'POST', url: '/union?state=created', payload: { nested: { state: 'failed' } } })).json()).toEqual({ ok: true })
  })
})
