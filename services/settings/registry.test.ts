import { describe, expect, it } from 'vitest'
import { defineSettingsGroup, type SettingDefinition } from './definition.js'
import { definitionModules } from './definitions/index.js'
import { SettingsDefinitionError, buildRegistry } from './registry.js'

const setting = (over: Partial<SettingDefinition>): SettingDefinition => ({ key: 'mail.host', type: 'string', default: '', description: 'd', encrypted: false, required: false, ...over })
const group = (settings: SettingDefinition[], id = 'mail') => defineSettingsGroup({ id, name: 'Mail', description: '', sort_order: 0, settings })

function problems(modules: Parameters<typeof buildRegistry>[0]): string[] {
  try {
    buildRegistry(modules)
  } catch (error) {
    if (error instanceof SettingsDefinitionError) return error.problems
    throw error
  }
  throw new Error('expected a SettingsDefinitionError')
}

describe('settings definitions', () => {
  it('ships the contract settings exactly', () => {
    const registry = buildRegistry(definitionModules)
    const pick = (key: string) => {
      const d = registry.byKey.get(key)!
      return { type: d.type, default: d.default, encrypted: d.encrypted }
    }
    expect(registry.groups.map((g) => g.id).slice(0, 2)).toEqual(['general', 'smtp'])
    expect(pick('general.instance_name')).toEqual({ type: 'string', default: 'groundwork', encrypted: false })
    expect(pick('general.public_url')).toEqual({ type: 'string', default: '', encrypted: false })
    expect(pick('smtp.host')).toEqual({ type: 'string', default: '', encrypted: false })
    expect(pick('smtp.port')).toEqual({ type: 'number', default: 587, encrypted: false })
    expect(pick('smtp.secure')).toEqual({ type: 'boolean', default: false, encrypted: false })
    expect(pick('smtp.username')).toEqual({ type: 'string', default: '', encrypted: false })
    expect(pick('smtp.password')).toEqual({ type: 'string', default: null, encrypted: true })
  })

  it('rejects a duplicate key, naming both modules and the key', () => {
    expect(problems({ one: group([setting({})]), two: group([setting({})], 'mail') })).toEqual([
      'module "two": group id "mail" is already defined by module "one"',
      'module "two", key "mail.host": duplicate key, already defined by module "one"',
    ])
  })

  it('rejects a default of the wrong type', () => {
    expect(problems({ mail: group([setting({ key: 'mail.port', type: 'number', default: '587' })]) })).toEqual([
      'module "mail", key "mail.port": the default "587" is not a number',
    ])
  })

  it("rejects a key outside its group's namespace", () => {
    expect(problems({ mail: group([setting({ key: 'smtp.host' })]) })).toEqual([
      'module "mail", key "smtp.host": the key must be "mail.<name>" (its group\'s namespace, name in lower_snake_case)',
    ])
  })

  it('rejects an encrypted setting with a non-null default', () => {
    expect(problems({ mail: group([setting({ key: 'mail.password', default: 'changeme', encrypted: true })]) })).toEqual([
      'module "mail", key "mail.password": an encrypted setting must have the default null',
    ])
  })

  it('reports every problem at once in a message naming the module and key', () => {
    const modules = { mail: group([setting({ key: 'mail.a', type: 'boolean', default: 1 }), setting({ key: 'other.b' })]) }
    expect(() => buildRegistry(modules)).toThrow(/module "mail", key "mail.a": .*\n.*module "mail", key "other.b"/)
  })

  it('rejects constraints that do not fit the type, contradict each other or refuse their own default', () => {
    expect(problems({
      mail: group([
        setting({ key: 'mail.host', min: 1 }),
        setting({ key: 'mail.port', type: 'number', default: 587, min: 10, max: 1 }),
        setting({ key: 'mail.tls', type: 'boolean', default: false, format: 'url' }),
        setting({ key: 'mail.url', format: 'uri' as never }),
        setting({ key: 'mail.timeout', type: 'number', default: 1.5, integer: true, max: Number.POSITIVE_INFINITY }),
        setting({ key: 'mail.retries', type: 'number', default: 0, min: 1 }),
        setting({ key: 'mail.link', default: 'example.com', format: 'url' }),
      ]),
    })).toEqual([
      'module "mail", key "mail.host": min, max and integer apply to numbers only, and this setting is a string',
      'module "mail", key "mail.port": min (10) is greater than max (1)',
      'module "mail", key "mail.tls": format applies to strings only, and this setting is a boolean',
      'module "mail", key "mail.url": format "uri" is not one of url',
      'module "mail", key "mail.timeout": max must be a finite number',
      'module "mail", key "mail.retries": the default 0 does not fit its own constraints: expected a number of at least 1',
      'module "mail", key "mail.link": the default "example.com" does not fit its own constraints: expected an absolute http:// or https:// address such as https://groundwork.example.com, or "" for none',
    ])
  })

  it('ships the SMTP port and the public address with constraints that refuse what would break them', () => {
    const registry = buildRegistry(definitionModules)
    expect(registry.byKey.get('smtp.port')).toMatchObject({ integer: true, min: 1, max: 65535 })
    expect(registry.byKey.get('general.public_url')).toMatchObject({ format: 'url' })
  })

  it('orders groups by sort_order', () => {
    const registry = buildRegistry({ b: { ...group([], 'b'), sort_order: 2 }, a: { ...group([], 'a'), sort_order: 1 } })
    expect(registry.groups.map((g) => g.id)).toEqual(['a', 'b'])
  })
})
