import type { Database, Executor } from '../database/connection.js'
import { kvError } from './errors.js'
import { MAX_VALUE_BYTES, checkSize, toJsonValue, type JsonValue } from './json-value.js'
import { checkKey, checkLimit, decodeCursor, encodeCursor, isPossiblePrefix } from './keys.js'
import { fromStoredText, toStoredText } from './nul-escape.js'
import { MAX_INDEX, parsePath, readAt, writeAt, type Path, type PathInput } from './path.js'
import { deleteEntry, findValue, listKeys, lockValue, updateValue, upsertValue, writeAtPathInPlace, type PathWrite } from './repository.js'

export interface ListOptions {
  /** Only keys that start with this text (taken literally: no wildcards). */
  prefix?: string
  /** 1–1000, default 100. */
  limit?: number
  /** `nextCursor` of the previous page. */
  cursor?: string | null
}

export interface KeyPage {
  keys: string[]
  /** Pass it back as `cursor` for the next page; null on the last page. */
  nextCursor: string | null
}

/**
 * A JSON key-value store (Botpress's KVS semantics). Every method takes an optional executor, so
 * a caller can make it part of its own transaction; without one it uses the current database.
 */
export class KvService {
  constructor(private readonly getDb: () => Database) {}

  /** The value under `key`, or the part of it at `path`. Throws kv_not_found for either missing. */
  async get(key: string, path?: PathInput, db: Executor = this.getDb()): Promise<JsonValue> {
    checkKey(key)
    const parsed = path === undefined ? null : parsePath(path)
    const text = await findValue(db, key)
    if (text === undefined) throw notFound(key)
    const value = fromStoredText(text)
    if (!parsed) return value
    const lookup = readAt(value, parsed)
    if (!lookup.found) {
      throw kvError('kv_not_found', `The key "${key}" exists, but it has nothing at the path ${parsed.shown}: ${lookup.missing}.`, { details: { key, path: parsed.text } })
    }
    return lookup.value
  }

  /**
   * Without a path, replaces the value under `key`. With one, writes `value` inside the stored
   * value and keeps the rest, under a row lock so concurrent path writes of one key never lose
   * each other's changes. Returns the whole stored value after the write.
   */
  async set(key: string, value: unknown, path?: PathInput, db: Executor = this.getDb()): Promise<JsonValue> {
    checkKey(key)
    const parsed = path === undefined ? null : parsePath(path)
    const piece = toJsonValue(value)
    if (!parsed) return fromStoredText(await upsertValue(db, key, storable(piece, 'The value')))
    const inPlace = inPlaceWrite(parsed, piece)
    // Under the row lock: the way for every write the one-statement form does not cover.
    const lockedWrite = async (tx: Executor) => {
      const next = writeAt(fromStoredText(await lockValue(tx, key)), parsed, piece)
      return fromStoredText(await updateValue(tx, key, storable(next, `The value of "${key}" after setting ${parsed.shown}`)))
    }
    const attempt = async (ex: Executor) => (inPlace ? await writeAtPathInPlace(ex, key, inPlace) : undefined)
    // In a caller's transaction, a savepoint keeps a failed write from aborting the caller's work.
    if (db !== this.getDb()) {
      return db.transaction(async (tx) => {
        const written = await attempt(tx)
        return written === undefined ? lockedWrite(tx) : fromStoredText(written)
      })
    }
    // On its own, the one-statement write needs no transaction; the other way takes one for its lock.
    const written = await attempt(db)
    return written === undefined ? db.transaction(lockedWrite) : fromStoredText(written)
  }

  /** Removes `key`. Throws kv_not_found when there is nothing to remove. */
  async delete(key: string, db: Executor = this.getDb()): Promise<void> {
    checkKey(key)
    if (!(await deleteEntry(db, key))) throw notFound(key)
  }

  /** Keys in byte order (UTF-8), a page at a time. */
  async list(options: ListOptions = {}, db: Executor = this.getDb()): Promise<KeyPage> {
    const prefix = options.prefix ?? ''
    const limit = checkLimit(options.limit)
    const after = options.cursor ? decodeCursor(options.cursor) : null
    if (!isPossiblePrefix(prefix)) return { keys: [], nextCursor: null }
    // One more row than asked tells whether another page follows.
    const keys = await listKeys(db, { prefix, after, limit: limit + 1 })
    const more = keys.length > limit
    if (more) keys.length = limit
    return { keys, nextCursor: more ? encodeCursor(keys.at(-1)!) : null }
  }
}

/**
 * The arguments of the one-statement path write, or null where only the JavaScript way applies:
 * names holding U+0000 or U+0001 are stored escaped (nul-escape.ts), and U+0000 cannot travel as
 * text at all.
 */
function inPlaceWrite(path: Path, piece: JsonValue): PathWrite | null {
  const parts = path.steps.map((step) => step.key)
  // eslint-disable-next-line no-control-regex -- the two characters the stored form escapes
  if (parts.some((part) => /[\u0000\u0001]/.test(part))) return null
  const last = path.steps.at(-1)!
  const json = JSON.stringify(piece)
  return {
    path: parts,
    parent: parts.slice(0, -1),
    index: last.index !== null && last.index <= MAX_INDEX ? last.index : null,
    json: toStoredText(piece, json),
    maxBytes: MAX_VALUE_BYTES,
  }
}

function storable(value: JsonValue, what: string): string {
  const json = JSON.stringify(value)
  checkSize(json, what)
  return toStoredText(value, json)
}

function notFound(key: string) {
  return kvError('kv_not_found', `No value is stored under the key "${key}".`, { details: { key } })
}
