import { rm } from 'node:fs/promises'
import { join } from 'node:path'
import pg from 'pg'
import { afterEach, expect, it, onTestFinished } from 'vitest'
import { AUTH, buildTestApp, describeNoPostgres, describePostgres, tempDir, type TestApp } from '../../test/helpers/app.js'
import { eventually } from '../../test/helpers/apps.js'
import { dumpTables } from '../../test/helpers/counted-database.js'
import { createTestDatabase, type TestDatabase } from '../../test/helpers/postgres.js'
import { ENCRYPTION_KEY_FILE } from './encryption-key.js'

const SECRET = 'p4ss-in-clear-never-stored-7f3a9c'
const ENCRYPTION_SECRET = 'routes-test-encryption-secret-0123456789'

const apps: TestApp[] = []
const databases: TestDatabase[] = []
afterEach(async () => {
  await Promise.all(apps.splice(0).map((t) => t.close()))
  await Promise.all(databases.splice(0).map((d) => d.drop()))
})

async function started(...args: Parameters<typeof buildTestApp>): Promise<TestApp> {
  const t = await buildTestApp(...args)
  apps.push(t)
  await t.ready()
  return t
}

async function postgres(): Promise<TestDatabase> {
  const database = await createTestDatabase()
  databases.push(database)
  return database
}

const call = (t: TestApp, method: 'GET' | 'PUT' | 'PATCH' | 'DELETE', url: string, payload?: unknown) =>
  t.app.inject({ method, url, headers: AUTH, ...(payload === undefined ? {} : { payload: payload as object }) })

/** The behaviour every kind must show; `start` builds an app on a fresh database of that kind. */
function behaves(start: () => Promise<TestApp>, dump: (t: TestApp) => Promise<string>) {
  it('needs the admin token', async () => {
    const t = await start()
    const response = await t.app.inject({ method: 'GET', url: '/api/settings' })
    expect(response.statusCode).toBe(401)
    expect(response.json()).toMatchObject({ error: 'unauthorized' })
  })

  it('lists every group and setting with its defaults', async () => {
    const t = await start()
    const response = await call(t, 'GET', '/api/settings')
    expect(response.statusCode).toBe(200)
    const body = response.json()
    expect(body.orphaned).toEqual([])
    expect(body.groups.map((g: { id: string }) => g.id)).toEqual(['general', 'smtp'])
    expect(Object.keys(body.groups[0]).sort()).toEqual(['description', 'id', 'name', 'settings', 'sort_order'])
    expect(body.groups[0].settings[0]).toEqual({
      key: 'general.instance_name', type: 'string', value: 'groundwork', default: 'groundwork', description: expect.any(String), encrypted: false, required: true, is_set: true,
    })
    const smtp = Object.fromEntries(body.groups[1].settings.map((s: { key: string; value: unknown }) => [s.key, s.value]))
    expect(smtp).toMatchObject({ 'smtp.host': '', 'smtp.port': 587, 'smtp.secure': false, 'smtp.username': '', 'smtp.password': null })
    // Declared constraints are listed, so a form can check a value before sending it; none where none are declared.
    expect(body.groups[1].settings.find((s: { key: string }) => s.key === 'smtp.port')).toMatchObject({ min: 1, max: 65535, integer: true })
    expect(body.groups[0].settings[1]).toMatchObject({ key: 'general.public_url', format: 'url' })
    expect((await call(t, 'GET', '/api/settings/smtp.port')).json()).toMatchObject({ min: 1, max: 65535, integer: true })
  })

  it('reads, writes and resets one setting, and answers unknown keys and wrong types', async () => {
    const t = await start()
    expect((await call(t, 'GET', '/api/settings/smtp.port')).json()).toMatchObject({ key: 'smtp.port', value: 587 })
    const put = await call(t, 'PUT', '/api/settings/smtp.port', { value: 2525 })
    expect(put.statusCode).toBe(200)
    expect(put.json()).toMatchObject({ key: 'smtp.port', type: 'number', value: 2525, default: 587, is_set: true })
    expect(await t.app.settings.get('smtp.port')).toBe(2525)

    const wrong = await call(t, 'PUT', '/api/settings/smtp.port', { value: '25' })
    expect(wrong.statusCode).toBe(400)
    expect(wrong.json()).toMatchObject({ error: 'invalid_setting_value', message: expect.stringContaining('expected a number') })
    const unknown = await call(t, 'GET', '/api/settings/smtp.nope')
    expect(unknown.statusCode).toBe(404)
    expect(unknown.json()).toMatchObject({ error: 'setting_not_found' })
    expect((await call(t, 'PUT', '/api/settings/smtp.nope', { value: 1 })).statusCode).toBe(404)
    expect((await call(t, 'DELETE', '/api/settings/smtp.nope')).json()).toMatchObject({ error: 'setting_not_found' })
    expect((await call(t, 'PUT', '/api/settings/smtp.port', { nothing: 1 })).statusCode).toBe(400)

    const reset = await call(t, 'DELETE', '/api/settings/smtp.port')
    expect(reset.statusCode).toBe(200)
    expect(reset.json()).toMatchObject({ value: 587 })
    expect((await call(t, 'GET', '/api/settings/smtp.port')).json()).toMatchObject({ value: 587 })
  })

  it("refuses a value of the right type outside the setting's constraints, saying what it accepts, and keeps the stored one", async () => {
    const t = await start()
    for (const value of [70000, 0, 25.5]) {
      const res = await call(t, 'PUT', '/api/settings/smtp.port', { value })
      expect(res.statusCode).toBe(400)
      expect(res.json()).toEqual({ error: 'invalid_setting_value', message: 'smtp.port: expected a whole number from 1 to 65535', key: 'smtp.port', expected_type: 'number' })
    }
    expect((await call(t, 'PUT', '/api/settings/smtp.port', { value: 65535 })).statusCode).toBe(200)
    for (const value of ['groundwork.example.com', 'ftp://example.com', ' https://example.com', 'https://']) {
      const res = await call(t, 'PUT', '/api/settings/general.public_url', { value })
      expect(res.statusCode, value).toBe(400)
      expect(res.json().message).toBe('general.public_url: expected an absolute http:// or https:// address such as https://groundwork.example.com, or "" for none')
    }
    expect((await call(t, 'PUT', '/api/settings/general.public_url', { value: 'http://10.0.0.5:3000/gw/' })).statusCode).toBe(200)
    expect((await call(t, 'PUT', '/api/settings/general.public_url', { value: '' })).statusCode).toBe(200)

    const many = await call(t, 'PATCH', '/api/settings', { values: { 'smtp.host': 'mail.example.com', 'smtp.port': 1e6 } })
    expect(many.json()).toMatchObject({ error: 'invalid_setting_value', errors: [{ key: 'smtp.port', message: 'expected a whole number from 1 to 65535' }] })
    expect(await t.app.settings.get('smtp.port')).toBe(65535)
    expect(await t.app.settings.get('smtp.host')).toBe('')
  })

  it('writes several values all or nothing', async () => {
    const t = await start()
    const bad = await call(t, 'PATCH', '/api/settings', { values: { 'smtp.host': 'mail.example.com', 'smtp.secure': 'yes', 'smtp.password': 7 } })
    expect(bad.statusCode).toBe(400)
    expect(bad.json()).toMatchObject({
      error: 'invalid_setting_value',
      errors: [
        { key: 'smtp.secure', message: 'expected a boolean, got a string' },
        { key: 'smtp.password', message: 'expected a string, got a number' },
      ],
    })
    expect((await call(t, 'GET', '/api/settings/smtp.host')).json().value).toBe('')
    const good = await call(t, 'PATCH', '/api/settings', { values: { 'smtp.host': 'mail.example.com', 'smtp.secure': true } })
    expect(good.statusCode).toBe(200)
    expect(good.json().settings.map((s: { key: string; value: unknown }) => [s.key, s.value])).toEqual([['smtp.host', 'mail.example.com'], ['smtp.secure', true]])
    expect((await call(t, 'GET', '/api/settings/smtp.secure')).json().value).toBe(true)
  })

  it('keeps a secret out of the database, the log and every response except a reveal', async () => {
    const t = await start()
    const put = await call(t, 'PUT', '/api/settings/smtp.password', { value: SECRET })
    expect(put.statusCode).toBe(200)
    expect(put.json()).toMatchObject({ value: null, is_set: true, encrypted: true })
    const responses = [put.body]
    responses.push((await call(t, 'GET', '/api/settings')).body)
    responses.push((await call(t, 'GET', '/api/settings/smtp.password')).body)
    responses.push((await call(t, 'PATCH', '/api/settings', { values: { 'smtp.password': SECRET, 'smtp.port': 'x' } })).body)
    responses.push((await call(t, 'PUT', '/api/settings/smtp.port', { value: SECRET })).body)
    responses.push((await t.app.inject({ method: 'GET', url: '/api/openapi.json' })).body)
    const revealed = await call(t, 'GET', '/api/settings/smtp.password?reveal=true')
    expect(revealed.json()).toMatchObject({ value: SECRET, is_set: true })
    expect(await t.app.settings.get('smtp.password')).toBe(SECRET)

    for (const body of responses) expect(body).not.toContain(SECRET)
    const examples = [...responses.at(-1)!.matchAll(/"examples":(\[[^\]]*\])/g)].flatMap((match) => JSON.parse(match[1]!) as unknown[])
    const encryptedExamples = examples.filter((e): e is { encrypted: true; value: unknown } => (e as { encrypted?: boolean }).encrypted === true)
    expect(encryptedExamples.length).toBeGreaterThan(0)
    for (const example of encryptedExamples) expect(example.value).toBeNull()
    expect(t.logs.length).toBeGreaterThan(5)
    expect(t.logs.join('\n')).not.toContain(SECRET)
    expect(t.logs.join('\n')).not.toContain(ENCRYPTION_SECRET)
    const dumped = await dump(t)
    expect(dumped).toContain('smtp.password')
    expect(dumped).not.toContain(SECRET)

    const cleared = await call(t, 'DELETE', '/api/settings/smtp.password')
    expect(cleared.json()).toMatchObject({ value: null, is_set: false })
  })
}

describeNoPostgres('settings over HTTP on PGlite', () => {
  behaves(
    () => started({ ENCRYPTION_SECRET }, { seedPglite: true }),
    (t) => dumpTables(t.app.getDb()),
  )

  it('detects a lost key file at startup: reports it, answers 500 for secrets, keeps the rest working', async () => {
    const dataDir = await tempDir()
    const first = await started({}, { dataDir, seedPglite: true })
    expect((await call(first, 'PUT', '/api/settings/smtp.password', { value: SECRET })).statusCode).toBe(200)
    await first.close()
    apps.splice(apps.indexOf(first), 1)
    const file = join(dataDir, ENCRYPTION_KEY_FILE)
    await rm(file)

    const second = await started({}, { dataDir })
    const status = (await second.app.inject({ method: 'GET', url: '/api/db/status' })).json()
    const service = status.services.find((s: { name: string }) => s.name === 'settings')
    expect(JSON.stringify(service)).toContain('ENCRYPTION_SECRET')
    expect(JSON.stringify(service)).toContain(file)
    expect(second.logs.some((l) => l.includes('"level":50') && l.includes('ENCRYPTION_SECRET') && l.includes(file))).toBe(true)

    const reveal = await call(second, 'GET', '/api/settings/smtp.password?reveal=true')
    expect(reveal.statusCode).toBe(500)
    expect(reveal.json()).toMatchObject({ error: 'encryption_key_mismatch' })
    expect(reveal.body).not.toContain(SECRET)
    expect((await call(second, 'PUT', '/api/settings/smtp.password', { value: 'new' })).json()).toMatchObject({ error: 'encryption_key_mismatch' })
    expect((await call(second, 'GET', '/api/settings/smtp.password')).json()).toMatchObject({ value: null, is_set: true })
    expect((await call(second, 'PUT', '/api/settings/smtp.port', { value: 25 })).statusCode).toBe(200)
    rm(dataDir, { recursive: true, force: true }).catch(() => undefined)
  })
})

describePostgres('settings over HTTP on PostgreSQL', () => {
  behaves(
    async () => {
      const current = await postgres()
      return started({ DB_TYPE: 'postgresql', ENCRYPTION_SECRET, ...current.env })
    },
    // Not pg_dump: it must be at least as new as the server, and the machine's (15) refuses the
    // PostgreSQL 18 the tests also run on.
    async (t) => {
      const dump = await dumpTables(t.app.getDb())
      expect(dump).toContain('settings_meta')
      return dump
    },
  )

  it('two instances on one database see each other’s writes at once, secrets included', async () => {
    const database = await postgres()
    const env = { DB_TYPE: 'postgresql', ENCRYPTION_SECRET, ...database.env }
    const [a, b] = [await started(env), await started(env)]
    for (let round = 0; round < 20; round++) {
      const [writer, reader] = round % 2 === 0 ? [a, b] : [b, a]
      // Warm the reader's cache first, so a stale cached value would show.
      await call(reader, 'GET', '/api/settings/smtp.port')
      expect((await call(writer, 'PUT', '/api/settings/smtp.port', { value: 1000 + round })).statusCode).toBe(200)
      expect((await call(reader, 'GET', '/api/settings/smtp.port')).json().value).toBe(1000 + round)
      expect(await reader.app.settings.get('smtp.port')).toBe(1000 + round)
    }
    await call(a, 'PUT', '/api/settings/smtp.password', { value: SECRET })
    expect((await call(b, 'GET', '/api/settings/smtp.password?reveal=true')).json().value).toBe(SECRET)
    await call(b, 'PATCH', '/api/settings', { values: { 'smtp.host': 'b.example.com', 'smtp.username': 'bee' } })
    expect(await a.app.settings.get('smtp.host')).toBe('b.example.com')
    await call(a, 'DELETE', '/api/settings/smtp.host')
    expect((await call(b, 'GET', '/api/settings/smtp.host')).json().value).toBe('')
  })

  it('two writes of the same settings in opposite orders both succeed: no deadlock between them', async () => {
    const database = await postgres()
    const t = await started({ DB_TYPE: 'postgresql', ENCRYPTION_SECRET, ...database.env })
    // A session of its own holds smtp.host until both writes wait, so that they overlap for sure.
    const holder = new pg.Client({ connectionString: database.url })
    holder.on('error', () => undefined) // the database is dropped with it still open if the test fails
    await holder.connect()
    onTestFinished(() => holder.end().catch(() => undefined))
    await holder.query('begin')
    await holder.query(`select 1 from settings where key = 'smtp.host' for update`)
    const waiting = (n: number) =>
      eventually(
        `${n} settings write(s) waiting for a lock`,
        () => database.query<{ n: number }>(`select count(*)::int as n from pg_stat_activity where datname = current_database() and wait_event_type = 'Lock'`),
        ([row]) => row!.n === n,
      )
    const first = call(t, 'PATCH', '/api/settings', { values: { 'smtp.host': 'a.example.com', 'smtp.username': 'a' } })
    await waiting(1)
    const second = call(t, 'PATCH', '/api/settings', { values: { 'smtp.username': 'b', 'smtp.host': 'b.example.com' } })
    await waiting(2)
    await holder.query('rollback')
    const answers = await Promise.all([first, second])
    for (const answer of answers) expect(answer.statusCode, answer.body).toBe(200)
    // One after the other: the second's values, both of them.
    expect(await t.app.settings.get('smtp.host')).toBe('b.example.com')
    expect(await t.app.settings.get('smtp.username')).toBe('b')
  })

  it('warns at startup that a generated key cannot serve several instances, and detects an instance with another key', async () => {
    const database = await postgres()
    const first = await started({ DB_TYPE: 'postgresql', ENCRYPTION_SECRET, ...database.env })
    expect(first.logs.join('\n')).not.toContain('ENCRYPTION_SECRET is not set')
    await call(first, 'PUT', '/api/settings/smtp.password', { value: SECRET })

    const second = await started({ DB_TYPE: 'postgresql', ...database.env })
    expect(second.logs.some((l) => l.includes('"level":40') && l.includes('ENCRYPTION_SECRET is not set'))).toBe(true)
    const status = (await second.app.inject({ method: 'GET', url: '/api/db/status' })).json()
    expect(JSON.stringify(status.services)).toContain('ENCRYPTION_SECRET')
    expect((await call(second, 'GET', '/api/settings/smtp.password?reveal=true')).json()).toMatchObject({ error: 'encryption_key_mismatch' })
    expect((await call(first, 'GET', '/api/settings/smtp.password?reveal=true')).json()).toMatchObject({ value: SECRET })
  })
})
