import { Writable } from 'node:stream'
import { sql } from 'drizzle-orm'
import pino from 'pino'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { describeOnKind, tempDir } from '../../test/helpers/app.js'
import { openCountedDatabase, type CountedDatabase, type Kind } from '../../test/helpers/counted-database.js'
import { rowsOf } from '../database/results.js'
import { defineSettingsGroup, type SettingDefinition, type SettingsGroupDefinition } from './definition.js'
import { definitionModules } from './definitions/index.js'
import { loadEncryptionKey, type EncryptionKey } from './encryption-key.js'
import { buildRegistry } from './registry.js'
import { SettingsService } from './service.js'

const SECRET = 'hunter2-the-smtp-password-in-clear'

function capturingLog() {
  const lines: string[] = []
  const log = pino({ level: 'trace' }, new Writable({ write: (chunk, _e, done) => (lines.push(String(chunk)), done()) }))
  return { log, lines }
}

async function key(secret: string | null = 'settings-test-secret-0123456789-abcdef'): Promise<EncryptionKey> {
  return loadEncryptionKey(secret, await tempDir(), pino({ level: 'silent' }))
}

async function started(database: CountedDatabase, options: { encryption?: EncryptionKey; modules?: Record<string, SettingsGroupDefinition> } = {}) {
  const { log, lines } = capturingLog()
  const service = new SettingsService(() => database.db, buildRegistry(options.modules ?? definitionModules), {
    log,
    encryption: options.encryption ?? (await key()),
    databaseType: () => database.kind,
  })
  await service.start(database.db)
  return { service, lines }
}

function generated(count: number): Record<string, SettingsGroupDefinition> {
  const settings: SettingDefinition[] = Array.from({ length: count }, (_, i) => ({
    key: `generated.setting_${i}`,
    type: (['string', 'number', 'boolean', 'json'] as const)[i % 4]!,
    default: [`value ${i}`, i, i % 2 === 0, { i }][i % 4]!,
    description: `generated setting ${i}`,
    encrypted: false,
    required: false,
  }))
  return { generated: defineSettingsGroup({ id: 'generated', name: 'Generated', description: '', sort_order: 99, settings }) }
}

describe.each<Kind>(['pglite', 'postgresql'])('the settings service on %s', (kind) => {
  describeOnKind(kind)(kind, () => {
    let database: CountedDatabase
    beforeAll(async () => {
      database = await openCountedDatabase(kind)
    })
    afterAll(async () => {
      await database?.close()
    })

    it('inserts every group and setting with its default, and reads typed values', async () => {
      const { service } = await started(database)
      expect(await service.get('general.instance_name')).toBe('groundwork')
      expect(await service.get('general.public_url')).toBe('')
      expect(await service.get('smtp.port')).toBe(587)
      expect(await service.get('smtp.secure')).toBe(false)
      expect(await service.get('smtp.password')).toBeNull()
      const list = await service.list()
      expect(list.groups.map((g) => g.id)).toEqual(['general', 'smtp'])
      expect(list.groups[1]!.settings.find((s) => s.key === 'smtp.password')).toEqual({
        key: 'smtp.password', type: 'string', value: null, default: null, description: expect.any(String), encrypted: true, required: false, is_set: false,
      })
      const groups = rowsOf<{ id: string }>(await database.db.execute(sql`select id from settings_groups order by id`))
      expect(groups.map((g) => g.id)).toEqual(['general', 'smtp'])
    })

    it('writes a value, rejects one of the wrong type naming the expected type, and resets to the default', async () => {
      const { service } = await started(database)
      expect(await service.set('smtp.port', 2525)).toMatchObject({ key: 'smtp.port', value: 2525, default: 587, is_set: true })
      expect(await service.get('smtp.port')).toBe(2525)
      await expect(service.set('smtp.port', '25')).rejects.toMatchObject({ code: 'invalid_setting_value', message: 'smtp.port: expected a number, got a string' })
      await expect(service.set('smtp.secure', null)).rejects.toMatchObject({ code: 'invalid_setting_value' })
      await expect(service.set('nope.key', 1)).rejects.toMatchObject({ code: 'setting_not_found' })
      expect(await service.get('smtp.port')).toBe(2525)
      expect(await service.reset('smtp.port')).toMatchObject({ value: 587 })
      expect(await service.get('smtp.port')).toBe(587)
    })

    it('never overwrites a stored value when it initializes again', async () => {
      const { service } = await started(database)
      await service.set('general.instance_name', 'acme')
      const again = await started(database)
      expect(await again.service.get('general.instance_name')).toBe('acme')
      await service.reset('general.instance_name')
    })

    it('writes several values all or nothing', async () => {
      const { service } = await started(database)
      const error = await service.setMany({ 'smtp.host': 'mail.example.com', 'smtp.port': 'x', 'smtp.bogus': 1, 'smtp.password': 42 }).catch((e: unknown) => e)
      expect(error).toMatchObject({
        code: 'invalid_setting_value',
        details: {
          errors: [
            { key: 'smtp.port', message: 'expected a number, got a string' },
            { key: 'smtp.bogus', message: 'no such setting' },
            { key: 'smtp.password', message: 'expected a string, got a number' },
          ],
        },
      })
      expect(await service.get('smtp.host')).toBe('')
      const written = await service.setMany({ 'smtp.host': 'mail.example.com', 'smtp.port': 465, 'smtp.secure': true })
      expect(written.map((s) => [s.key, s.value])).toEqual([['smtp.host', 'mail.example.com'], ['smtp.port', 465], ['smtp.secure', true]])
      expect(await service.get('smtp.secure')).toBe(true)
      await service.setMany({ 'smtp.host': '', 'smtp.port': 587, 'smtp.secure': false })
    })

    it('stores a secret encrypted (AES-GCM, key id beside it), shows it only when revealed, and never logs it', async () => {
      const { service, lines } = await started(database)
      const set = await service.set('smtp.password', SECRET)
      expect(set).toMatchObject({ value: null, is_set: true, encrypted: true })
      expect(await service.describe('smtp.password')).toMatchObject({ value: null, is_set: true })
      expect((await service.describe('smtp.password', { reveal: true })).value).toBe(SECRET)
      expect(await service.get('smtp.password')).toBe(SECRET)
      const [row] = rowsOf<{ value: Record<string, unknown>; key_id: string }>(await database.db.execute(sql`select value, key_id from settings where key = 'smtp.password'`))
      expect(Object.keys(row!.value).sort()).toEqual(['ct', 'iv', 'kid', 'tag', 'v'])
      expect(row!.key_id).toBe(row!.value.kid)
      const dump = await database.dump()
      expect(dump).toContain('smtp.password')
      expect(dump).not.toContain(SECRET)
      expect(dump).not.toContain(Buffer.from(SECRET).toString('base64').slice(0, 12))
      expect(lines.join('\n')).not.toContain(SECRET)
      await expect(service.set('smtp.password', { s: SECRET })).rejects.not.toThrow(SECRET)
      const list = JSON.stringify(await service.list())
      expect(list).not.toContain(SECRET)
      expect(await service.reset('smtp.password')).toMatchObject({ value: null, is_set: false })
    })

    it('refuses a secret that was altered in the database', async () => {
      const { service } = await started(database)
      await service.set('smtp.password', SECRET)
      await database.db.execute(sql`update settings set value = jsonb_set(value, '{tag}', to_jsonb('AAAAAAAAAAAAAAAAAAAAAA=='::text)) where key = 'smtp.password'`)
      await expect(service.get('smtp.password')).rejects.toMatchObject({ code: 'encrypted_value_unreadable' })
      await service.reset('smtp.password')
    })

    it('detects a different key at startup, refuses encrypted values, and keeps the others working', async () => {
      const { service } = await started(database)
      await service.set('smtp.password', SECRET)
      const stranger = await key(null)
      const { service: other, lines } = await started(database, { encryption: stranger })
      const [problem] = other.problems()
      expect(problem).toContain('ENCRYPTION_SECRET')
      expect(problem).toContain(stranger.file)
      expect(lines.some((l) => l.includes('"level":50') && l.includes('ENCRYPTION_SECRET') && l.includes(stranger.file))).toBe(true)
      await expect(other.get('smtp.password')).rejects.toMatchObject({ code: 'encryption_key_mismatch' })
      await expect(other.describe('smtp.password', { reveal: true })).rejects.toMatchObject({ code: 'encryption_key_mismatch' })
      await expect(other.set('smtp.password', 'another')).rejects.toMatchObject({ code: 'encryption_key_mismatch' })
      expect(await other.describe('smtp.password')).toMatchObject({ value: null, is_set: true })
      expect(await other.set('smtp.port', 25)).toMatchObject({ value: 25 })
      expect(await service.get('smtp.password')).toBe(SECRET)
      expect(service.problems()).toEqual([])
      await service.reset('smtp.password')
      await service.reset('smtp.port')
    })

    it('keeps a setting whose definition was removed, listed as orphaned', async () => {
      const extra = defineSettingsGroup({
        id: 'legacy', name: 'Legacy', description: '', sort_order: 50,
        settings: [{ key: 'legacy.flag', type: 'boolean', default: true, description: 'gone soon', encrypted: false, required: false }],
      })
      await started(database, { modules: { ...definitionModules, legacy: extra } })
      const { service, lines } = await started(database)
      const list = await service.list()
      expect(list.groups.map((g) => g.id)).toEqual(['general', 'smtp'])
      expect(list.orphaned).toEqual([{ key: 'legacy.flag', group_id: 'legacy', type: 'boolean', encrypted: false, is_set: true, value: true, updated_at: expect.any(String) }])
      expect(lines.some((l) => l.includes('"level":40') && l.includes('legacy.flag'))).toBe(true)
    })

    it('warns at start about stored values their definition no longer accepts, and keeps them', async () => {
      // As after an upgrade that declared smtp.port's range, or changed a type: written when it was allowed.
      await started(database)
      await database.db.execute(sql`update settings set value = '70000'::jsonb where key = 'smtp.port'`)
      await database.db.execute(sql`update settings set value = '"yes"'::jsonb where key = 'smtp.secure'`)
      try {
        const { service, lines } = await started(database)
        const warning = lines.map((line) => JSON.parse(line) as { level: number; msg: string; keys?: string[] }).find((line) => line.keys)
        expect(warning?.level).toBe(40)
        expect([...warning!.keys!].sort()).toEqual(['smtp.port', 'smtp.secure'])
        expect(warning!.msg).toContain('smtp.port: expected a whole number from 1 to 65535')
        expect(warning!.msg).toContain('smtp.secure: expected a boolean, got a string')
        expect(await service.get('smtp.port')).toBe(70000)
      } finally {
        await database.db.execute(sql`update settings set value = '587'::jsonb where key = 'smtp.port'`)
        await database.db.execute(sql`update settings set value = 'false'::jsonb where key = 'smtp.secure'`)
      }
      const { lines } = await started(database)
      expect(lines.some((line) => line.includes('no longer accepts'))).toBe(false)
    })

    it('initializes in the same number of statements for 10 and 1,000 definitions', async () => {
      const counts: number[] = []
      for (const count of [10, 1000, 1000]) {
        const { log } = capturingLog()
        const service = new SettingsService(() => database.db, buildRegistry(generated(count)), { log, encryption: await key(), databaseType: () => kind })
        database.statements.length = 0
        const started = performance.now()
        await service.start(database.db)
        const ms = performance.now() - started
        counts.push(database.statements.length)
        process.stdout.write(`[settings] ${kind}: initialized ${count} definitions in ${database.statements.length} statements, ${ms.toFixed(0)} ms\n`)
        expect(await service.get(`generated.setting_${count - 1}`)).toEqual([`value ${count - 1}`, count - 1, (count - 1) % 2 === 0, { i: count - 1 }][(count - 1) % 4])
      }
      expect(counts[0]).toBe(counts[1])
      expect(counts[1]).toBe(counts[2])
      const stored = rowsOf<{ n: number }>(await database.db.execute(sql`select count(*)::int as n from settings where key like 'generated.%'`))
      expect(stored[0]!.n).toBe(1000)
    })
  })
})
