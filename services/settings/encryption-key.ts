import { randomBytes, scrypt } from 'node:crypto'
import { chmod, link, mkdir, open, readFile, stat, unlink } from 'node:fs/promises'
import { join } from 'node:path'
import type { FastifyBaseLogger } from 'fastify'
import { identify, type KeyIdentity } from './cipher.js'

export const ENCRYPTION_KEY_FILE = 'encryption.key'

export interface EncryptionKey extends KeyIdentity {
  key: Buffer
  source: 'environment' | 'file'
  /** The key file's path (whether or not it is the source), for messages. */
  file: string
}

// Fixed: every instance given the same ENCRYPTION_SECRET must derive the same key.
const SALT = 'groundwork/settings/encryption-key/v1'
// scrypt rather than HKDF: ENCRYPTION_SECRET may be a passphrase, so guessing it should cost.
const SCRYPT = { N: 2 ** 14, r: 8, p: 1, maxmem: 64 * 1024 * 1024 }

/** ENCRYPTION_SECRET through scrypt, else the random key in persistent_data/encryption.key (created once, mode 0600). */
export async function loadEncryptionKey(secret: string | null, dataDir: string, log: FastifyBaseLogger): Promise<EncryptionKey> {
  const existing = await readEncryptionKey(secret, dataDir, log)
  if (existing) return existing
  const file = join(dataDir, ENCRYPTION_KEY_FILE)
  const key = await createKeyFile(dataDir, file, log).catch((error: NodeJS.ErrnoException) => {
    throw new Error(
      `Could not create the settings encryption key file ${file} (${error.code ?? error.message}). Make ${dataDir} (PERSISTENT_DATA_DIR) writable for the user running the server, or set ENCRYPTION_SECRET.`,
      { cause: error },
    )
  })
  log.warn({ file }, `generated the settings encryption key into ${file}: back it up with the database; without it the encrypted settings cannot be read. Several instances must share ENCRYPTION_SECRET instead.`)
  return { key, ...identify(key), source: 'file', file }
}

async function readKeyFile(file: string, log: FastifyBaseLogger): Promise<Buffer | null> {
  let text: string
  try {
    text = await readFile(file, 'utf8')
  } catch (error) {
    const code = (error as NodeJS.ErrnoException).code
    // ENOTDIR: the folder is missing too; creating the file reports what to fix.
    if (code === 'ENOENT' || code === 'ENOTDIR') return null
    throw new Error(`Cannot read the settings encryption key file ${file} (${(error as NodeJS.ErrnoException).code ?? 'error'}): make it readable by the user running the server.`, { cause: error })
  }
  const key = Buffer.from(text.trim(), 'base64')
  if (!/^[A-Za-z0-9+/]{43}=$/.test(text.trim()) || key.length !== 32) {
    throw new Error(
      `The settings encryption key file ${file} is damaged: expected 32 bytes in base64 (44 characters). Restore it from a backup, or set ENCRYPTION_SECRET to the secret in use. Do not delete it: the encrypted settings could no longer be read.`,
    )
  }
  if ((await stat(file)).mode & 0o077) {
    await chmod(file, 0o600)
    log.warn({ file }, 'the settings encryption key file was readable by other users; its mode is now 0600')
  }
  return key
}

/** The key loadEncryptionKey would use, without ever creating one: null when there is no secret and no key file. */
export async function readEncryptionKey(secret: string | null, dataDir: string, log: FastifyBaseLogger): Promise<EncryptionKey | null> {
  const file = join(dataDir, ENCRYPTION_KEY_FILE)
  if (secret !== null) {
    const key = await new Promise<Buffer>((resolve, reject) => scrypt(secret, SALT, 32, SCRYPT, (error, derived) => (error ? reject(error) : resolve(derived))))
    return { key, ...identify(key), source: 'environment', file }
  }
  const key = await readKeyFile(file, log)
  return key === null ? null : { key, ...identify(key), source: 'file', file }
}

/** Written to a temp file, then linked into place: atomic, and never replaces a key another process wrote first. */
async function createKeyFile(dataDir: string, file: string, log: FastifyBaseLogger): Promise<Buffer> {
  await mkdir(dataDir, { recursive: true })
  const key = randomBytes(32)
  const temp = `${file}.${process.pid}.${randomBytes(4).toString('hex')}.tmp`
  const handle = await open(temp, 'wx', 0o600)
  try {
    await handle.writeFile(`${key.toString('base64')}\n`)
    await handle.sync()
  } finally {
    await handle.close()
  }
  try {
    await link(temp, file)
    return key
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code !== 'EEXIST') throw error
    const existing = await readKeyFile(file, log) // another process created it first
    if (existing === null) throw new Error(`The settings encryption key file ${file} vanished while it was being created: start again.`)
    return existing
  } finally {
    await unlink(temp).catch(() => undefined)
  }
}
