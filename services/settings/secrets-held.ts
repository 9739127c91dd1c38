import type { RunQuery } from '../database/table-stats.js'
import type { KeyIdentity } from './cipher.js'
import { KEY_META } from './initialize.js'

/** What a database holds that needs the settings encryption key, which never travels with it. */
export interface SecretsHeld {
  /** The key the settings service recorded when it first started on this database; null before that. */
  recorded: KeyIdentity | null
  /** Encrypted settings that have a value. */
  values: number
}

/** Read with any RunQuery: a server's database, or a backup opened in a PGlite of its own. */
export async function secretsHeld(query: RunQuery): Promise<SecretsHeld> {
  const [present] = await query<{ yes: boolean }>(`select to_regclass('settings_meta') is not null and to_regclass('settings') is not null as yes`)
  if (!present?.yes) return { recorded: null, values: 0 }
  const [row] = await query<{ value: string }>(`select value from settings_meta where name = '${KEY_META}'`)
  const [count] = await query<{ n: number }>('select count(*)::int as n from settings where encrypted and value is not null')
  return { recorded: row ? (JSON.parse(row.value) as KeyIdentity) : null, values: count?.n ?? 0 }
}
