import { sql } from 'drizzle-orm'
import type { Database } from '../database/connection.js'
import { rowsOf } from '../database/results.js'
import type { KeyIdentity } from './cipher.js'
import { KEY_META } from './initialize.js'
import { bumpGeneration, countForeignEncrypted } from './repository.js'

export interface KeyReset {
  /** The key the database recorded before. */
  previous: KeyIdentity
  /** Encrypted values written with another key than the one recorded now: kept, unreadable with it. */
  stranded: number
}

/**
 * Makes the database record `identity` as the settings key, in place of `replacing` (a lost key),
 * so encrypted settings can be written again. Nothing else changes: the values written with the
 * old key stay as they are (readable again should that key be found) and are counted. One
 * transaction, queued behind any settings write; refuses if the recorded key is no longer
 * `replacing` (another reset, or a server, changed it meanwhile).
 */
export async function resetRecordedKey(db: Database, identity: KeyIdentity, replacing: string): Promise<KeyReset> {
  return db.transaction(async (tx) => {
    // The settings' write lock first (see bumpGeneration); the new generation makes other instances reload.
    await bumpGeneration(tx)
    const [row] = rowsOf<{ value: string }>(await tx.execute(sql`select value from settings_meta where name = ${KEY_META}`))
    const previous = row ? (JSON.parse(row.value) as KeyIdentity) : null
    if (previous?.kid !== replacing) {
      throw new Error(`the database records ${previous ? `key id ${previous.kid}` : 'no key'} now, not ${replacing}: something changed it meanwhile. Nothing was changed; run the command again to see where things stand.`)
    }
    await tx.execute(sql`update settings_meta set value = ${JSON.stringify({ kid: identity.kid, fingerprint: identity.fingerprint })} where name = ${KEY_META}`)
    return { previous, stranded: await countForeignEncrypted(tx, identity.kid) }
  })
}
