import type { Database } from '../database/connection.js'
import type { KeyIdentity } from './cipher.js'
import type { Registry } from './registry.js'
import { misfits } from './values.js'
import { GENERATION, claimMeta, insertMissingSettings, storedValues, upsertGroups } from './repository.js'

export const KEY_META = 'encryption_key'

export interface InitializeResult {
  /** Keys inserted now with their defaults. */
  inserted: string[]
  /** The key recorded in the database: this one if it was the first, else the first one's. */
  recorded: KeyIdentity
  /** Stored keys no definition declares any more. */
  orphaned: string[]
  /**
   * Stored values (not encrypted) their definition refuses now: written before a constraint was
   * declared or a type changed. Kept and returned as stored; the server warns.
   */
  misfits: { key: string; problem: string }[]
}

/**
 * Inserts missing groups and settings with their defaults and records the encryption key's
 * fingerprint, in one transaction of a constant number of statements, whatever the number of
 * definitions. Existing values are never overwritten and nothing is deleted.
 */
export async function initializeSettings(db: Database, registry: Registry, identity: KeyIdentity): Promise<InitializeResult> {
  const groups = registry.groups.map(({ id, name, description, sort_order }) => ({ id, name, description, sort_order }))
  const records = [...registry.byKey.values()].map((d) => ({ key: d.key, group_id: d.group_id, type: d.type, value: d.default, encrypted: d.encrypted }))
  return db.transaction(async (tx) => {
    await upsertGroups(tx, groups)
    const inserted = await insertMissingSettings(tx, records)
    const recorded = JSON.parse(await claimMeta(tx, KEY_META, JSON.stringify({ kid: identity.kid, fingerprint: identity.fingerprint }))) as KeyIdentity
    await claimMeta(tx, GENERATION, '0')
    const stored = await storedValues(tx)
    const orphaned = stored.filter(({ key }) => !registry.byKey.has(key)).map(({ key }) => key)
    return { inserted, recorded, orphaned, misfits: misfits(registry, stored) }
  })
}
