import { readFile, stat, writeFile } from 'node:fs/promises'
import { join } from 'node:path'
import pino from 'pino'
import { describe, expect, it } from 'vitest'
import { tempDir } from '../../test/helpers/app.js'
import { open, seal } from './cipher.js'
import { ENCRYPTION_KEY_FILE, loadEncryptionKey } from './encryption-key.js'

const log = pino({ level: 'silent' })
const SECRET = 'correct-horse-battery-staple-0123456789'

describe('the settings encryption key', () => {
  it('derives the same key from the same ENCRYPTION_SECRET on every instance, and creates no file', async () => {
    const [a, b] = [await tempDir(), await tempDir()]
    const one = await loadEncryptionKey(SECRET, a, log)
    const two = await loadEncryptionKey(SECRET, b, log)
    expect(one.key.equals(two.key)).toBe(true)
    expect(one).toMatchObject({ source: 'environment', kid: two.kid, fingerprint: two.fingerprint })
    expect(one.key.length).toBe(32)
    // Derived, not the secret's bytes, and the fingerprint does not contain the key.
    expect(one.key.toString('utf8')).not.toContain(SECRET.slice(0, 16))
    expect(one.fingerprint).not.toContain(one.key.toString('hex'))
    const other = await loadEncryptionKey(`${SECRET}!`, a, log)
    expect(other.kid).not.toBe(one.kid)
    await expect(stat(join(a, ENCRYPTION_KEY_FILE))).rejects.toThrow(/ENOENT/)
  })

  it('generates a random key once into encryption.key with mode 0600, and reuses it', async () => {
    const dir = await tempDir()
    const first = await loadEncryptionKey(null, dir, log)
    const file = join(dir, ENCRYPTION_KEY_FILE)
    expect(first).toMatchObject({ source: 'file', file })
    expect((await stat(file)).mode & 0o777).toBe(0o600)
    expect(Buffer.from((await readFile(file, 'utf8')).trim(), 'base64').equals(first.key)).toBe(true)
    const again = await loadEncryptionKey(null, dir, log)
    expect(again.key.equals(first.key)).toBe(true)
  })

  it('gives one key to processes that create the file at the same moment', async () => {
    const dir = await tempDir()
    const keys = await Promise.all(Array.from({ length: 8 }, () => loadEncryptionKey(null, dir, log)))
    const onDisk = Buffer.from((await readFile(join(dir, ENCRYPTION_KEY_FILE), 'utf8')).trim(), 'base64')
    for (const k of keys) expect(k.key.equals(onDisk)).toBe(true)
  })

  it('refuses a damaged key file, naming it, and leaves it alone', async () => {
    const dir = await tempDir()
    const file = join(dir, ENCRYPTION_KEY_FILE)
    await writeFile(file, 'c2hvcnQ=\n', { mode: 0o600 })
    await expect(loadEncryptionKey(null, dir, log)).rejects.toThrow(`The settings encryption key file ${file} is damaged`)
    expect(await readFile(file, 'utf8')).toBe('c2hvcnQ=\n')
  })

  it('says which folder to make writable when it cannot create the key file', async () => {
    // A folder under a plain file cannot be created, even by root (the tests may run as root).
    const blocker = join(await tempDir(), 'not-a-folder')
    await writeFile(blocker, '')
    const dir = join(blocker, 'data')
    await expect(loadEncryptionKey(null, dir, log)).rejects.toThrow(`Could not create the settings encryption key file ${join(dir, ENCRYPTION_KEY_FILE)} (ENOTDIR). Make ${dir} (PERSISTENT_DATA_DIR) writable`)
  })

  it('seals with a random IV and binds the ciphertext to its setting key', async () => {
    const { key, kid } = await loadEncryptionKey(SECRET, await tempDir(), log)
    const a = seal(key, kid, 'smtp.password', 'hunter2')
    const b = seal(key, kid, 'smtp.password', 'hunter2')
    expect(a.iv).not.toBe(b.iv)
    expect(a.ct).not.toBe(b.ct)
    expect(open(key, 'smtp.password', a)).toBe('hunter2')
    expect(() => open(key, 'smtp.username', a)).toThrow()
    const flipped = Buffer.from(a.ct, 'base64')
    flipped[0] = flipped[0]! ^ 1
    expect(() => open(key, 'smtp.password', { ...a, ct: flipped.toString('base64') })).toThrow()
  })
})
