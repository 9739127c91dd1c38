import type { Database, Executor } from '../database/connection.js'
import { kvError } from './errors.js'
import { checkSize, toJsonValue, type JsonValue } from './json-value.js'
import { checkKey, checkLimit, decodeCursor, encodeCursor, isPossiblePrefix } from './keys.js'
import { fromStoredText, toStoredText } from './nul-escape.js'
import { parsePath, readAt, writeAt, type PathInput } from './path.js'
import { deleteEntry, findValue, listKeys, lockValue, updateValue, upsertValue } from './repository.js'

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
    return db.transaction(async (tx) => {
      const next = writeAt(fromStoredText(await lockValue(tx, key)), parsed, piece)
      return fromStoredText(await updateValue(tx, key, storable(next, `The value of "${key}" after setting ${parsed.shown}`)))
    })
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

function storable(value: JsonValue, what: string): string {
  const json = JSON.stringify(value)
  checkSize(json, what)
  return toStoredText(value, json)
}

function notFound(key: string) {
  return kvError('kv_not_found', `No value is stored under the key "${key}".`, { details: { key } })
}
