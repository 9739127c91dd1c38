import pino from 'pino'
import { describe, expect, it } from 'vitest'
import { testConfig } from '../../test/helpers/app.js'
import { loadAdminToken } from './admin-token.js'

describe('the admin token check', () => {
  const token = 'tok-é-0123456789abcdef'
  const load = () => loadAdminToken(testConfig({ ADMIN_TOKEN: token }), pino({ level: 'silent' }))

  it('accepts exactly the token, byte for byte', async () => {
    expect((await load()).matches(token)).toBe(true)
  })

  it.each([
    ['one character changed', token.slice(0, -1) + 'g'],
    ['shorter', token.slice(0, -1)],
    ['longer', `${token}0`],
    ['empty', ''],
    // Same number of characters, different bytes: é is two bytes in UTF-8, e is one.
    ['another character of another width', token.replace('é', 'e')],
    ['the same length in characters with a wider character', token.replace('t', 'é')],
  ])('refuses a token that is %s', async (_, candidate) => {
    expect((await load()).matches(candidate)).toBe(false)
  })
})
