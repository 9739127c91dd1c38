import type { FastifyBaseLogger } from 'fastify'
import type { Database } from '../database/connection.js'
import { SettingsCache } from './cache.js'
import { isEnvelope, open, seal, type KeyIdentity } from './cipher.js'
import type { Json, ValueOfType } from './definition.js'
import type { definitionModules } from './definitions/index.js'
import type { EncryptionKey } from './encryption-key.js'
import { settingsError } from './errors.js'
import { KEY_META, initializeSettings } from './initialize.js'
import type { RegisteredSetting, Registry } from './registry.js'
import { valueProblem } from './values.js'
import { bumpGeneration, claimMeta, countForeignEncrypted, currentGeneration, writeSetting, type SettingRow } from './repository.js'
import type { SettingView, SettingsList } from './schemas.js'

type Definition = RegisteredSetting
type BuiltIn = (typeof definitionModules)[keyof typeof definitionModules]['settings'][number]
/** The built-in keys, so other services get typed values. */
export type SettingKey = BuiltIn['key']
export type SettingValue<K extends SettingKey> = ValueOfType<Extract<BuiltIn, { key: K }>['type']> | null

export interface SettingsServiceOptions {
  log: FastifyBaseLogger
  /**
   * The key, or how to load it. The plugin passes a loader that runs at the first start, so that a
   * key file is only generated once there is a database, and a folder that cannot take it is
   * reported as this service's failed start instead of stopping the whole server.
   */
  encryption: EncryptionKey | (() => Promise<EncryptionKey>)
  /** The kind of database in use: PostgreSQL may be shared by several instances. */
  databaseType: () => string | null
}

/** The application's settings: definitions from code, values in the database, secrets encrypted. No HTTP here. */
export class SettingsService {
  private mismatch: string | null = null
  /** The settings generation at which the key was last found not to match (undefined: not read yet); see recheckMismatch(). */
  private mismatchSeenAt: string | null | undefined = undefined
  /** Encrypted values another key wrote, as the last key check found them. */
  private foreign: string | null = null
  private encryption: EncryptionKey | null = null
  private readonly cache = new SettingsCache()

  constructor(
    private readonly getDb: () => Database,
    readonly registry: Registry,
    private readonly options: SettingsServiceOptions,
  ) {}

  /** Runs whenever the database becomes ready: inserts what is missing and checks the key. */
  async start(db: Database): Promise<void> {
    const { log } = this.options
    const loader = this.options.encryption
    const encryption = (this.encryption ??= typeof loader === 'function' ? await loader() : loader)
    if (this.options.databaseType() === 'postgresql' && encryption.source === 'file') {
      log.warn(
        { file: encryption.file },
        `ENCRYPTION_SECRET is not set: encrypted settings use the key generated into ${encryption.file}, which only this instance has. Several instances on one PostgreSQL cannot read each other's secrets: set the same ENCRYPTION_SECRET (at least 32 characters) on every instance.`,
      )
    }
    const result = await initializeSettings(db, this.registry, encryption)
    if (result.inserted.length > 0) log.info({ count: result.inserted.length }, 'inserted missing settings with their defaults')
    if (result.orphaned.length > 0) {
      log.warn({ orphaned: result.orphaned }, `stored settings without a definition (kept, listed as orphaned in GET /api/settings): ${result.orphaned.join(', ')}`)
    }
    if (result.misfits.length > 0) {
      log.warn(
        { keys: result.misfits.map(({ key }) => key) },
        `stored settings their definition no longer accepts (kept, and returned as stored): ${result.misfits.map(({ key, problem }) => `${key}: ${problem}`).join('; ')}. Set them again (PUT /api/settings/<key>), or reset them to their default (DELETE).`,
      )
    }
    this.mismatch = result.recorded.fingerprint === encryption.fingerprint ? null : this.mismatchMessage(result.recorded.kid)
    this.mismatchSeenAt = undefined
    if (this.mismatch) log.error({ file: encryption.file, keyId: encryption.kid, expectedKeyId: result.recorded.kid }, this.mismatch)
    this.cache.reset(this.options.databaseType() !== 'pglite')
  }

  problems(): string[] {
    return [this.mismatch, this.foreign].filter((problem): problem is string => problem !== null)
  }

  /**
   * The daily check (job settings.key-check): the database may have been restored from another
   * installation's backup, or a secret written by an instance with another key, since this one
   * started. Compares the recorded key and every encrypted value's key id with this server's key.
   */
  async checkEncryptionKey(): Promise<{ key_matches: boolean; unreadable_values: number }> {
    const encryption = this.key(true)
    const db = this.getDb()
    const recorded = JSON.parse(await claimMeta(db, KEY_META, JSON.stringify({ kid: encryption.kid, fingerprint: encryption.fingerprint }))) as KeyIdentity
    const unreadable = await countForeignEncrypted(db, encryption.kid)
    const mismatch = recorded.fingerprint === encryption.fingerprint ? null : this.mismatchMessage(recorded.kid)
    const foreign = this.foreignMessage(unreadable, encryption.kid)
    const { log } = this.options
    if (mismatch !== this.mismatch) {
      if (mismatch) log.error({ keyId: encryption.kid, expectedKeyId: recorded.kid }, mismatch)
      else log.info('the settings encryption key matches the database again')
    }
    if (foreign !== this.foreign && foreign) log.error({ count: unreadable }, foreign)
    this.mismatch = mismatch
    this.foreign = foreign
    return { key_matches: mismatch === null, unreadable_values: unreadable }
  }

  /** A setting's value, typed and decrypted: for other services. */
  async get<K extends SettingKey>(key: K): Promise<SettingValue<K>>
  async get(key: string): Promise<Json>
  async get(key: string): Promise<Json> {
    const definition = this.definition(key)
    if (definition.encrypted) await this.recheckMismatch()
    const row = await this.row(key)
    if (!row) return definition.default
    return definition.encrypted ? this.decrypt(definition, row) : (row.value as Json)
  }

  async list(): Promise<SettingsList> {
    const rows = await this.rows()
    return {
      groups: this.registry.groups.map((group) => ({
        id: group.id,
        name: group.name,
        description: group.description,
        sort_order: group.sort_order,
        settings: group.settings.map((s) => this.view(this.definition(s.key), rows.get(s.key) ?? null, false)),
      })),
      orphaned: [...rows.values()]
        .filter((row) => !this.registry.byKey.has(row.key))
        .map((row) => ({
          key: row.key,
          group_id: row.groupId,
          type: row.type,
          encrypted: row.encrypted,
          is_set: row.value !== null,
          value: row.encrypted ? null : row.value,
          updated_at: new Date(row.updatedAt).toISOString(),
        })),
    }
  }

  /** One setting as the API shows it; `reveal` decrypts an encrypted value. */
  async describe(key: string, options: { reveal?: boolean } = {}): Promise<SettingView> {
    const definition = this.definition(key)
    if (definition.encrypted && options.reveal === true) await this.recheckMismatch()
    return this.view(definition, await this.row(key), options.reveal === true)
  }

  async set(key: string, value: unknown): Promise<SettingView> {
    const definition = this.definition(key)
    const problem = valueProblem(definition, value)
    if (problem) throw settingsError('invalid_setting_value', `${key}: ${problem}`, { details: { key, expected_type: definition.type } })
    const [view] = await this.write([[definition, value as Json]])
    return view!
  }

  /** All or nothing: every value is checked first, then all are written in one transaction. */
  async setMany(values: Record<string, unknown>): Promise<SettingView[]> {
    const errors: { key: string; message: string }[] = []
    const writes: [Definition, Json][] = []
    for (const [key, value] of Object.entries(values)) {
      const definition = this.registry.byKey.get(key)
      const problem = definition ? valueProblem(definition, value) : 'no such setting'
      if (problem || !definition) errors.push({ key, message: problem ?? 'no such setting' })
      else writes.push([definition, value as Json])
    }
    if (errors.length > 0) {
      throw settingsError('invalid_setting_value', `Nothing was changed: ${errors.map((e) => `${e.key}: ${e.message}`).join('; ')}.`, { details: { errors } })
    }
    return this.write(writes)
  }

  /** Back to the default (for an encrypted setting: no value). */
  async reset(key: string): Promise<SettingView> {
    const definition = this.definition(key)
    const [view] = await this.write([[definition, definition.default]])
    return view!
  }

  private async write(writes: [Definition, Json][]): Promise<SettingView[]> {
    if (writes.some(([definition, value]) => definition.encrypted && value !== null)) await this.recheckMismatch()
    const records = writes.map(([definition, value]) => this.encode(definition, value))
    if (records.length === 0) return []
    const rows = await this.getDb().transaction(async (tx) => {
      // The generation row first: its lock queues every settings write behind the one under way,
      // so two writes of the same keys in different orders wait for each other instead of
      // deadlocking (PostgreSQL would end one of them).
      await bumpGeneration(tx)
      const written: SettingRow[] = []
      for (const record of records) written.push(await writeSetting(tx, record))
      return written
    })
    this.cache.invalidate()
    // Setting or clearing a value another key wrote may leave none: GET /api/db/status says so at once.
    if (this.foreign !== null && this.encryption !== null && writes.some(([definition]) => definition.encrypted)) {
      this.foreign = this.foreignMessage(await countForeignEncrypted(this.getDb(), this.encryption.kid), this.encryption.kid)
    }
    return rows.map((row, i) => this.view(writes[i]![0], row, false))
  }

  private foreignMessage(unreadable: number, kid: string): string | null {
    if (unreadable === 0) return null
    return `${unreadable} encrypted setting${unreadable === 1 ? ' was' : 's were'} written with another encryption key than this server's (key id ${kid}), so ${unreadable === 1 ? 'it' : 'they'} cannot be read here. Give every instance the same ENCRYPTION_SECRET, or set ${unreadable === 1 ? 'that setting' : 'those settings'} again (PUT /api/settings/<key>).`
  }

  private encode(definition: Definition, value: Json) {
    const base = { key: definition.key, group_id: definition.group_id, type: definition.type, encrypted: definition.encrypted }
    // Clearing a secret needs no key, so it works even while the key does not match.
    if (!definition.encrypted || value === null) return { ...base, value, key_id: null }
    const key = this.key()
    return { ...base, value: seal(key.key, key.kid, definition.key, value) as unknown as Json, key_id: key.kid }
  }

  private decrypt(definition: Definition, row: SettingRow): Json {
    if (row.value === null) return null
    const key = this.key()
    if (!isEnvelope(row.value) || row.value.kid !== key.kid) {
      if (isEnvelope(row.value)) throw this.foreignValueError(definition.key, row.value.kid)
      throw settingsError('encrypted_value_unreadable', `The stored value of ${definition.key} is not an encrypted value. Set it again (PUT /api/settings/${definition.key}).`)
    }
    try {
      return open(key.key, definition.key, row.value)
    } catch (error) {
      throw settingsError('encrypted_value_unreadable', `The stored value of ${definition.key} failed authentication: it was altered in the database. Set it again (PUT /api/settings/${definition.key}).`, { cause: error })
    }
  }

  /**
   * While the key does not match, a settings write anywhere may have changed that (`npm run db --
   * settings-key reset` recording this key): before an encrypted setting is refused,
   * the recorded key is read again, once per settings generation. Nothing while the key matches.
   */
  private async recheckMismatch(): Promise<void> {
    if (this.mismatch === null || this.encryption === null) return
    const generation = await currentGeneration(this.getDb())
    if (generation === this.mismatchSeenAt) return
    await this.checkEncryptionKey()
    this.mismatchSeenAt = generation
  }

  private key(evenIfMismatched = false): EncryptionKey {
    if (this.mismatch && !evenIfMismatched) throw settingsError('encryption_key_mismatch', this.mismatch)
    if (!this.encryption) throw settingsError('settings_not_started', 'The settings service has not started yet, so encrypted settings cannot be read: GET /api/db/status shows why under "services" (settings), and the server retries by itself.')
    return this.encryption
  }

  private view(definition: Definition, row: SettingRow | null, reveal: boolean): SettingView {
    const stored = row ? (row.value as Json) : definition.default
    let value: Json = stored
    if (definition.encrypted) value = reveal && row ? this.decrypt(definition, row) : null
    const constraints = definition.constraints
    // One shape for every view (undefined fields are left out of the JSON): cheaper than adding them.
    return {
      key: definition.key,
      type: definition.type,
      value,
      default: definition.default,
      description: definition.description,
      encrypted: definition.encrypted,
      required: definition.required,
      is_set: stored !== null,
      min: constraints?.min,
      max: constraints?.max,
      integer: constraints?.integer,
      format: constraints?.format,
    }
  }

  private definition(key: string): Definition {
    const definition = this.registry.byKey.get(key)
    if (!definition) throw settingsError('setting_not_found', `There is no setting "${key}". GET /api/settings lists every setting.`, { details: { key } })
    return definition
  }

  private async row(key: string): Promise<SettingRow | null> {
    return (await this.rows()).get(key) ?? null
  }

  private rows(): Promise<Map<string, SettingRow>> {
    return this.cache.read(this.getDb())
  }

  private mismatchMessage(expectedKid: string): string {
    const encryption = this.encryption!
    const source = encryption.source === 'environment' ? 'ENCRYPTION_SECRET' : `the key file ${encryption.file} (ENCRYPTION_SECRET is not set)`
    return (
      `The settings encryption key does not match the one this database's secrets were written with (this server's key id ${encryption.kid}, the database's ${expectedKid}). ` +
      `This server took its key from ${source}. Restart it with the key the database was set up with: the ENCRYPTION_SECRET the other instances use, or, if that key was generated (ENCRYPTION_SECRET unset), the key file ${encryption.file} restored from a backup. ` +
      'Until then encrypted settings cannot be read or written; the other settings work.'
    )
  }

  /** A value written with another key than this server's, which is the one the database records (key() checked that). */
  private foreignValueError(settingKey: string, kid: string) {
    return settingsError(
      'encryption_key_mismatch',
      `The stored value of ${settingKey} was written with another encryption key (id ${kid}) than this server's (id ${this.encryption!.kid}, the one the database records), so it cannot be read here. ` +
        `Set it again (PUT /api/settings/${settingKey}) or clear it (DELETE); if another instance wrote it, give every instance the same ENCRYPTION_SECRET.`,
    )
  }
}
