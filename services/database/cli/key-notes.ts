import { join } from 'node:path'
import type { FastifyBaseLogger } from 'fastify'
import type { Config } from '../../core/config.js'
import { messageOf } from '../../core/errors.js'
import type { KeyIdentity } from '../../settings/cipher.js'
import { ENCRYPTION_KEY_FILE, readEncryptionKey, type EncryptionKey } from '../../settings/encryption-key.js'
import type { SecretsHeld } from '../../settings/secrets-held.js'

/** How this installation's settings key compares with the one a database recorded. */
export type KeyComparison =
  | { kind: 'matches'; key: EncryptionKey }
  /** No ENCRYPTION_SECRET and no key file: a server started now would generate a new key. */
  | { kind: 'missing' }
  | { kind: 'differs'; key: EncryptionKey }
  /** The key file is there but cannot be used (damaged, unreadable): the message says why. */
  | { kind: 'unusable'; message: string }

/** Reads the key the server would use (never creating one) and compares it with `recorded`. */
export async function compareKey(config: Config, recorded: KeyIdentity, log: FastifyBaseLogger): Promise<KeyComparison> {
  let key
  try {
    key = await readEncryptionKey(config.encryptionSecret, config.persistentDataDir, log)
  } catch (error) {
    return { kind: 'unusable', message: messageOf(error) }
  }
  if (!key) return { kind: 'missing' }
  return key.fingerprint === recorded.fingerprint ? { kind: 'matches', key } : { kind: 'differs', key }
}

/** Where this installation's key comes from, for a person: ENCRYPTION_SECRET or the key file. */
export function keySource(config: Config): string {
  return config.encryptionSecret !== null ? 'ENCRYPTION_SECRET' : `the key file ${join(config.persistentDataDir, ENCRYPTION_KEY_FILE)}`
}

function settingsCount(values: number): string {
  return `${values} encrypted setting${values === 1 ? '' : 's'}`
}

/**
 * Encrypted values written with another key than the one the database records: what verify and
 * settings-key reset say about them ("N encrypted settings were written with another key …").
 */
export function strandedValues(count: number, than: string): string {
  const them = count === 1 ? 'it' : 'them'
  return `${settingsCount(count)} ${count === 1 ? 'was' : 'were'} written with another key than ${than} and cannot be read: set ${them} again (PUT /api/settings/<key>), or clear ${them} (DELETE)`
}

/**
 * Printed after a backup that holds encrypted values: the key that reads them is not in it, and a
 * backup restored without it keeps them unreadable. Null when there is nothing to say.
 */
export async function backupKeyNote(config: Config, secrets: SecretsHeld, log: FastifyBaseLogger): Promise<string | null> {
  if (!secrets.recorded || secrets.values === 0) return null
  const them = secrets.values === 1 ? 'it' : 'them'
  const held = `the backup holds ${settingsCount(secrets.values)}, and not the key that reads ${them}`
  const comparison = await compareKey(config, secrets.recorded, log)
  if (comparison.kind === 'matches') return `${held}: keep a copy of ${keySource(config)} apart from the backup; a restore without it cannot read ${them}`
  return `warning: ${held}: ${secrets.values === 1 ? 'it was' : 'they were'} written with key id ${secrets.recorded.kid}, which ${describeHere(config, comparison)}. Keep the key that wrote ${them} with the backup, apart from it`
}

/**
 * Printed after a restore: whether this installation has the key the restored database's settings
 * were written with, and if not what to do before starting the server (which would otherwise
 * generate a new key, and then refuse every encrypted setting). Null when there is nothing to say.
 */
export async function restoreKeyNote(config: Config, secrets: SecretsHeld, log: FastifyBaseLogger): Promise<string | null> {
  if (!secrets.recorded) return null
  const comparison = await compareKey(config, secrets.recorded, log)
  if (comparison.kind === 'matches') return secrets.values > 0 ? `its ${settingsCount(secrets.values)} can be read with this installation's key (${keySource(config)})` : null
  const written = `warning: the restored database's settings were written with encryption key id ${secrets.recorded.kid}, which ${describeHere(config, comparison)}`
  if (comparison.kind === 'unusable') return written
  const file = join(config.persistentDataDir, ENCRYPTION_KEY_FILE)
  const fix =
    config.encryptionSecret === null
      ? `copy ${ENCRYPTION_KEY_FILE} from the installation the backup came from to ${file} (mode 0600${comparison.kind === 'differs' ? ', in place of the one there' : ''}), or set the ENCRYPTION_SECRET it used`
      : `set ENCRYPTION_SECRET to the one it used (or, if its key was generated into ${ENCRYPTION_KEY_FILE}, unset ENCRYPTION_SECRET and copy that file to ${file})`
  const then = comparison.kind === 'missing' ? 'A server started without it generates a key of its own, and then' : 'Until then'
  const lost = secrets.values > 0 ? `the ${settingsCount(secrets.values)} it holds cannot be read, and no encrypted setting can be written` : 'no encrypted setting can be written'
  return `${written}. Before starting the server, ${fix}. ${then} ${lost}.`
}

function describeHere(config: Config, comparison: Exclude<KeyComparison, { kind: 'matches' }>): string {
  switch (comparison.kind) {
    case 'missing':
      return `this installation does not have (ENCRYPTION_SECRET is not set and ${join(config.persistentDataDir, ENCRYPTION_KEY_FILE)} does not exist)`
    case 'differs':
      return `is not this installation's (id ${comparison.key.kid}, from ${keySource(config)})`
    case 'unusable':
      return `could not be compared with this installation's key: ${comparison.message.replace(/\.$/, '')}`
  }
}
