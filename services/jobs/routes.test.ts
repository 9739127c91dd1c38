import { expect, it } from 'vitest'
import { AUTH } from '../../test/helpers/app.js'
import { eventually } from '../../test/helpers/apps.js'
import { describeEachKind } from '../../test/helpers/database-kinds.js'

const UNKNOWN_ID = '0d6f3e0c-8a57-4a38-9a55-1f0e5c7d9b21'

describeEachKind('/api/jobs', (kind, app) => {
  const get = (url: string, headers: Record<string, string> = AUTH) => app().app.inject({ method: 'GET', url, headers })

  it('needs the admin token', async () => {
    const response = await get('/api/jobs', {})
    expect(response.statusCode).toBe(401)
  })

  it('lists the queues the code defines, with their dead-letter queues and counts by state', async () => {
    const response = await get('/api/jobs')
    expect(response.statusCode).toBe(200)
    const { queues } = response.json<{ queues: { name: string }[] }>()
    expect(queues).toContainEqual({
      name: 'settings.key-check',
      dead_letter: 'settings.key-check__dead',
      dead_letter_of: null,
      schedule: '17 3 * * *',
      counts: expect.objectContaining({ created: expect.any(Number), failed: 0 }),
    })
    expect(queues.map((queue) => queue.name)).toContain('settings.key-check__dead')
  })

  it('runs the settings key check and lists it among the completed jobs', async () => {
    const id = await app().app.jobs.sendNow('settings.key-check', {})
    const jobs = await eventually(
      'the key check to complete',
      async () => (await get('/api/jobs/settings.key-check?state=completed')).json<{ jobs: { id: string }[] }>().jobs,
      (list) => list.some((job) => job.id === id),
    )
    expect(jobs.every((job) => (job as { state?: string }).state === 'completed')).toBe(true)
    const conflict = await app().app.inject({ method: 'DELETE', url: `/api/jobs/settings.key-check/${id}`, headers: AUTH })
    expect(conflict.statusCode).toBe(409)
    expect(conflict.json()).toMatchObject({ error: 'job_state_conflict' })
    const retry = await app().app.inject({ method: 'POST', url: `/api/jobs/settings.key-check/${id}/retry`, headers: AUTH })
    expect(retry.statusCode).toBe(409)
  })

  it('cancels a waiting job and runs it again on retry', async () => {
    const id = await app().app.jobs.sendNow('settings.key-check', {}, { startAfter: 3600 })
    const cancelled = await app().app.inject({ method: 'DELETE', url: `/api/jobs/settings.key-check/${id}`, headers: AUTH })
    expect(cancelled.statusCode).toBe(200)
    expect(cancelled.json()).toMatchObject({ id, queue: 'settings.key-check', state: 'cancelled' })
    const retried = await app().app.inject({ method: 'POST', url: `/api/jobs/settings.key-check/${id}/retry`, headers: AUTH })
    expect(retried.statusCode).toBe(200)
    expect(retried.json()).toMatchObject({ id, state: 'created' })
  })

  it('answers 404 for an unknown queue or job, 400 for a bad state or id', async () => {
    expect((await get('/api/jobs/nope')).json()).toMatchObject({ error: 'job_queue_not_found' })
    const missing = await app().app.inject({ method: 'DELETE', url: `/api/jobs/settings.key-check/${UNKNOWN_ID}`, headers: AUTH })
    expect(missing.statusCode).toBe(404)
    expect(missing.json()).toMatchObject({ error: 'job_not_found' })
    expect((await get('/api/jobs/settings.key-check?state=bogus')).statusCode).toBe(400)
    expect((await app().app.inject({ method: 'POST', url: '/api/jobs/settings.key-check/not-a-uuid/retry', headers: AUTH })).statusCode).toBe(400)
  })

  it(`reports the jobs service as running in the status (${kind})`, async () => {
    const status = app().app.database.status()
    expect(status.services).toContainEqual(expect.objectContaining({ name: 'jobs', state: 'running', ok: true }))
  })
})
