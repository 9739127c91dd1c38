import { randomBytes, timingSafeEqual } from 'node:crypto'
import { chmod, mkdir, readFile, stat, writeFile } from 'node:fs/promises'
import { join } from 'node:path'
import type { FastifyBaseLogger } from 'fastify'
import type { Config } from '../core/config.js'

export const ADMIN_TOKEN_FILE = 'admin.token'

export interface AdminToken {
  source: 'environment' | 'file'
  /** Where a person finds it, for messages; never the token itself. */
  hint: string
  matches(candidate: string): boolean
}

/**
 * ADMIN_TOKEN from the environment, else the token in persistent_data/admin.token, created on
 * first start (mode 0600). Its value is never logged: the log says where to read it.
 */
export async function loadAdminToken(config: Config, log: FastifyBaseLogger): Promise<AdminToken> {
  if (config.adminToken) {
    return tokenFor(config.adminToken, 'environment', 'the ADMIN_TOKEN environment variable of the server')
  }
  const path = join(config.persistentDataDir, ADMIN_TOKEN_FILE)
  let value = await readToken(path)
  if (value === null) {
    value = randomBytes(24).toString('base64url')
    await mkdir(config.persistentDataDir, { recursive: true })
    try {
      await writeFile(path, `${value}\n`, { mode: 0o600, flag: 'wx' })
      log.warn({ file: path }, `generated an admin token for the setup wizard; read it with: cat ${path}`)
    } catch (error) {
      if ((error as NodeJS.ErrnoException).code !== 'EEXIST') throw error
      value = await readToken(path) // another process created it first
      if (value === null) throw new Error(`${path} exists but is empty: delete it and restart to generate a new admin token.`)
    }
  } else {
    const mode = (await stat(path)).mode & 0o777
    if (mode & 0o077) {
      await chmod(path, 0o600)
      log.warn({ file: path }, 'the admin token file was readable by other users; its mode is now 0600')
    }
  }
  return tokenFor(value, 'file', path)
}

async function readToken(path: string): Promise<string | null> {
  try {
    const value = (await readFile(path, 'utf8')).trim()
    return value === '' ? null : value
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code === 'ENOENT') return null
    throw error
  }
}

function tokenFor(value: string, source: AdminToken['source'], hint: string): AdminToken {
  // Constant-time over the bytes. Only the length can show: a generated token is always 32
  // characters, and one set in ADMIN_TOKEN has at least 16, so it tells nothing that helps guess
  // it. (Hashing both sides first hid the length too, at ~3 µs of SHA-256 per admin request.)
  const expected = Buffer.from(value, 'utf8')
  return {
    source,
    hint,
    matches(candidate) {
      const given = Buffer.from(candidate, 'utf8')
      return given.length === expected.length && timingSafeEqual(given, expected)
    },
  }
}
