import { rm, writeFile } from 'node:fs/promises'
import { join } from 'node:path'
import pino from 'pino'
import { describe, expect, it } from 'vitest'
import { AUTH, buildTestApp, describePostgres, exists, tempDir } from '../../../test/helpers/app.js'
import { dbCli } from '../../../test/helpers/cli.js'
import { seedPgliteSetup, withPgliteFolder } from '../../../test/helpers/pglite-template.js'
import { databaseForTest } from '../../../test/helpers/postgres-apps.js'
import { SMTP_PASSWORD, withSettingsIn } from '../../../test/helpers/transfer-data.js'
import { loadConfig } from '../../core/config.js'
import { resetRecordedKey } from '../../settings/key-reset.js'
import { openConnection } from '../connection.js'
import { EXIT } from './command.js'

const RECORDED = `select value::json->>'kid' as kid from settings_meta where name = 'encryption_key'`

/** The key id the embedded database in `dir` records. */
async function recordedKid(dir: string): Promise<string> {
  return withPgliteFolder(dir, async (client) => (await client.query<{ kid: string }>(RECORDED)).rows[0]!.kid)
}

describe('db settings-key reset on the embedded database', () => {
  it('records a new key in place of a lost one after a confirmation; the values written with the lost key are kept, named, and can be set again', async () => {
    const dir = await tempDir()
    await seedPgliteSetup(dir)
    const env = { PERSISTENT_DATA_DIR: dir }
    const keyFile = join(dir, 'encryption.key')
    await withSettingsIn(env, (settings) => settings.set('smtp.password', SMTP_PASSWORD))
    await rm(keyFile) // lost for good
    const kid = await recordedKid(dir)
    const lost = await dbCli(env, ['verify'])
    expect(lost.code).toBe(EXIT.problems)
    expect(lost.out).toContain(`written with key ${kid}, but neither ENCRYPTION_SECRET nor`)

    // Without a terminal and without --confirm, it says what it would do and how to confirm; nothing changes.
    const unconfirmed = await dbCli(env, ['settings-key', 'reset'])
    expect(unconfirmed.code).toBe(EXIT.usage)
    expect(unconfirmed.err).toContain(`The database's encrypted settings were written with key id ${kid}. This makes it record a new key (generated into ${keyFile}) instead.`)
    expect(unconfirmed.err).toContain('The one encrypted value it holds stays as it is, unreadable until set again')
    expect(unconfirmed.err).toContain(`npm run db -- settings-key reset --confirm ${kid}`)
    const wrong = await dbCli(env, ['settings-key', 'reset', '--confirm', '0000000000000000'])
    expect(wrong.code).toBe(EXIT.usage)
    expect(wrong.err).toContain(`"0000000000000000" is not the key id the database records (${kid}): nothing was changed.`)
    expect(await exists(keyFile)).toBe(false)
    expect(await recordedKid(dir)).toBe(kid)

    const reset = await dbCli(env, ['settings-key', 'reset', '--confirm', kid])
    expect(reset.code, reset.err).toBe(EXIT.ok)
    expect(reset.out).toMatch(new RegExp(`the database now records the settings key id (\\w{16}) \\(the key file ${keyFile}\\) in place of ${kid}: encrypted settings can be set again`))
    expect(reset.out).toContain('1 encrypted setting was written with another key than this one and cannot be read: set it again (PUT /api/settings/<key>), or clear it (DELETE)')
    expect(await exists(keyFile)).toBe(true)

    // verify now names the value left behind, and the server's own service reads it as such, and writes again.
    const stranded = await dbCli(env, ['verify'])
    expect(stranded.code).toBe(EXIT.problems)
    expect(stranded.out).toContain('1 encrypted setting was written with another key than the one recorded')
    await withSettingsIn(env, async (settings) => {
      await expect(settings.get('smtp.password')).rejects.toMatchObject({ code: 'encryption_key_mismatch', message: expect.stringContaining(`was written with another encryption key (id ${kid})`) })
      await settings.set('smtp.password', 'set again')
      expect(await settings.get('smtp.password')).toBe('set again')
    })
    expect((await dbCli(env, ['verify'])).code).toBe(EXIT.ok)
    expect((await dbCli(env, ['settings-key', 'reset'])).out).toContain("the database records this installation's key")
  })

  it('refuses, changing nothing, when the key file here is damaged', async () => {
    const dir = await tempDir()
    await seedPgliteSetup(dir)
    const env = { PERSISTENT_DATA_DIR: dir }
    await withSettingsIn(env, (settings) => settings.set('smtp.password', SMTP_PASSWORD))
    const kid = await recordedKid(dir)
    await writeFile(join(dir, 'encryption.key'), 'not a key\n')
    const { code, err } = await dbCli(env, ['settings-key', 'reset', '--confirm', kid])
    expect(code).toBe(EXIT.failed)
    expect(err).toContain(`The settings encryption key file ${join(dir, 'encryption.key')} is damaged`)
    expect(err).toContain('Nothing was changed.')
    expect(await recordedKid(dir)).toBe(kid)
  })

  it('refuses an unknown action as wrong usage', async () => {
    const dir = await tempDir()
    const { code, err } = await dbCli({ PERSISTENT_DATA_DIR: dir, DB_TYPE: 'pglite' }, ['settings-key', 'rotate'])
    expect(code).toBe(EXIT.usage)
    expect(err).toContain('unknown action "rotate"; the only one is "reset"')
  })
})

describePostgres('db settings-key reset on PostgreSQL', () => {
  it('records the ENCRYPTION_SECRET now in use; a running instance with that secret takes it up without a restart', async () => {
    const database = await databaseForTest()
    const env = { ...database.env, DB_TYPE: 'postgresql', PERSISTENT_DATA_DIR: await tempDir() }
    expect((await dbCli(env, ['up'])).code).toBe(EXIT.ok)
    await withSettingsIn(env, (settings) => settings.set('smtp.password', SMTP_PASSWORD))
    const [before] = await database.query<{ kid: string }>(RECORDED)
    const kid = before!.kid

    // The instances now share an ENCRYPTION_SECRET (the generated key file is no longer used). One already runs with it and refuses secrets.
    const withSecret = { ...env, ENCRYPTION_SECRET: 'z'.repeat(40) }
    const running = await buildTestApp(withSecret, { dataDir: env.PERSISTENT_DATA_DIR })
    try {
      await running.ready()
      const secret = (method: 'GET' | 'PUT') =>
        running.app.inject({ method, url: `/api/settings/smtp.password${method === 'GET' ? '?reveal=true' : ''}`, headers: AUTH, ...(method === 'PUT' ? { payload: { value: 'new secret' } } : {}) })
      expect((await secret('PUT')).json()).toMatchObject({ error: 'encryption_key_mismatch' })
      // Refused again: nothing changed the recorded key.
      expect((await secret('PUT')).json()).toMatchObject({ error: 'encryption_key_mismatch' })

      const reset = await dbCli(withSecret, ['settings-key', 'reset', '--confirm', kid])
      expect(reset.code, reset.err).toBe(EXIT.ok)
      expect(reset.out).toContain(`(ENCRYPTION_SECRET) in place of ${kid}`)
      expect(reset.out).toContain('running server instances with this key take it up at their next use of an encrypted setting: no restart is needed')
      expect(reset.out).not.toContain('warning')
      expect((await dbCli(withSecret, ['verify'])).out).toContain('1 encrypted setting was written with another key than the one recorded')

      // The same process, not restarted: the value written with the lost key is named as such, then set again.
      expect((await secret('GET')).json()).toMatchObject({ error: 'encryption_key_mismatch', message: expect.stringContaining('written with another') })
      const settingsStatus = () => running.app.database.status().services.find((service) => service.name === 'settings')
      expect(settingsStatus()).toMatchObject({ ok: false, problems: [expect.stringContaining('1 encrypted setting was written with another encryption key')] })
      expect((await secret('PUT')).statusCode).toBe(200)
      expect((await secret('GET')).json()).toMatchObject({ value: 'new secret' })
      expect(settingsStatus()).toMatchObject({ ok: true })
    } finally {
      await running.close()
    }
    const [after] = await database.query<{ kid: string }>(RECORDED)
    expect(after!.kid).not.toBe(kid)

    // The recorded key changed since the command read it (another reset, a server): refused, nothing changed.
    const connection = await openConnection('postgresql', loadConfig({ ...withSecret, LOG_LEVEL: 'silent' }), pino({ level: 'silent' }))
    try {
      await expect(resetRecordedKey(connection.db, { kid: 'ffffffffffffffff', fingerprint: 'x' }, kid)).rejects.toThrow(`the database records key id ${after!.kid} now, not ${kid}: something changed it meanwhile. Nothing was changed`)
    } finally {
      await connection.close()
    }
    expect((await database.query<{ kid: string }>(RECORDED))[0]!.kid).toBe(after!.kid)
  })
})
