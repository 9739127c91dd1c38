import { createHash } from 'node:crypto'
import { access, cp, mkdir, readFile, rename, rm, stat, writeFile } from 'node:fs/promises'
import { findPackageJSON } from 'node:module'
import { join } from 'node:path'
import type { FastifyBaseLogger } from 'fastify'
import { getConstructionPlans } from 'pg-boss'
import type { Config } from '../core/config.js'
import { isServiceError, messageOf } from '../core/errors.js'
import { BOSS_SCHEMA } from '../jobs/repository.js'
import { readMigrations } from './migrator.js'
import { fileSystemCode, isMountPoint, removeDataFolder } from './persistent-data.js'
import { createPgliteDataDir, pgliteStartParams } from './pglite-create.js'
import { compileEngineAhead } from './pglite-engine.js'
import { acquirePgliteLock, type PgliteLock } from './pglite-lock.js'

/**
 * Creating the embedded database (initdb in WASM) takes seconds. While the server waits for a
 * person to choose in the wizard, it creates one in the background, in the same child process as
 * the setup does, into `pglite.prepared/` (under its own lock, never the database's). Choosing
 * the embedded database then moves that folder into place instead of creating one. The folder
 * lives only as long as the server that prepares it.
 */
export const PREPARED_FOLDER = 'pglite.prepared'
const STAMP_FILE = 'stamp.json'

/** Everything the prepared folder depends on: a folder built from anything else is not used. */
export interface PreparedIdentity {
  format: 1
  /** The installed @electric-sql/pglite: its data folder format is its own. */
  pglite: string
  /** The installed pg-boss and a hash of the schema it installed. */
  pgBoss: string
  pgBossSchema: string
  /** A hash of drizzle/'s journal and files: tag, time and content of each. */
  migrations: string
  startParams: string[]
}

export interface PreparedStamp extends PreparedIdentity {
  /** The migrations the child applied, in order. */
  applied: string[]
  builtAt: string
}

export function preparedDir(config: Config): string {
  return join(config.persistentDataDir, PREPARED_FOLDER)
}

export function preparedLockPath(config: Config): string {
  return join(config.persistentDataDir, `${PREPARED_FOLDER}.lock`)
}

async function installedVersion(name: string): Promise<string> {
  const path = findPackageJSON(name, import.meta.url)
  if (!path) throw new Error(`cannot find the package.json of ${name}`)
  return (JSON.parse(await readFile(path, 'utf8')) as { version: string }).version
}

const sha256 = (text: string) => createHash('sha256').update(text).digest('hex')

/** What a folder prepared now would be built from, read from the installed packages and drizzle/. */
export async function currentIdentity(config: Config): Promise<PreparedIdentity> {
  const files = await readMigrations(config.migrationsFolder)
  return {
    format: 1,
    pglite: await installedVersion('@electric-sql/pglite'),
    pgBoss: await installedVersion('pg-boss'),
    pgBossSchema: sha256(getConstructionPlans(BOSS_SCHEMA)),
    migrations: sha256(JSON.stringify(files.map((file) => [file.tag, file.when, file.hash]))),
    startParams: pgliteStartParams(config.pglite),
  }
}

/** The fields of `stamp` that differ from `expected`, e.g. ["pglite 0.5.15 ≠ 0.5.16"]; empty when it matches. */
export function stampDifferences(stamp: Partial<PreparedStamp>, expected: PreparedIdentity): string[] {
  return (Object.keys(expected) as (keyof PreparedIdentity)[])
    .filter((key) => JSON.stringify(stamp[key]) !== JSON.stringify(expected[key]))
    .map((key) => `${key} ${JSON.stringify(stamp[key]) ?? 'missing'} ≠ ${JSON.stringify(expected[key])}`)
}

/** What the database service asks at setup: the prepared folder, moved to `dataDir`, and the migrations it holds; null if there is none to use. */
export interface PreparedSource {
  claim(dataDir: string): Promise<string[] | null>
  /** PGlite's engine compiled whole (pglite-engine.ts), or null: PGlite then compiles its own as it runs. Never rejects. */
  engine(): Promise<WebAssembly.Module | null>
}

/**
 * One background preparation: started when an unconfigured server starts, claimed by the
 * embedded setup, stopped (child killed, folder removed) when the server stops or PostgreSQL is
 * chosen. Never throws: a preparation that cannot run only means the setup creates the database
 * itself, as it would without one.
 */
export class PglitePreparation implements PreparedSource {
  private readonly abort = new AbortController()
  private readonly done: Promise<PreparedStamp | null>
  private lock: PgliteLock | null = null
  private ended = false
  private failed = false
  private claiming: Promise<unknown> | null = null
  private removing: Promise<void> | null = null
  private compiled: Promise<WebAssembly.Module | null> | null

  private constructor(
    private readonly config: Config,
    private readonly log: FastifyBaseLogger,
  ) {
    this.done = this.prepare().then((stamp) => {
      this.failed = stamp === null
      return stamp
    })
    this.compiled = compileEngineAhead().catch((error: unknown) => {
      this.log.warn({ err: error }, `could not compile the embedded database's engine ahead (${messageOf(error)}); choosing it in the setup compiles it then`)
      return null
    })
  }

  static start(config: Config, log: FastifyBaseLogger): PglitePreparation {
    return new PglitePreparation(config, log)
  }

  /** Resolves when the preparation has ended: true if a folder is ready to claim. */
  async ready(): Promise<boolean> {
    return (await this.done) !== null && !this.ended
  }

  /** Running, or done and not yet claimed: false once it failed, was claimed or was stopped. */
  inUse(): boolean {
    return !this.ended && !this.failed
  }

  private async prepare(): Promise<PreparedStamp | null> {
    const dir = preparedDir(this.config)
    try {
      await mkdir(this.config.persistentDataDir, { recursive: true })
      this.lock = await acquirePgliteLock(preparedLockPath(this.config), dir)
    } catch (error) {
      // Another server on this PERSISTENT_DATA_DIR prepares already, or the folder is not writable (the setup will say so).
      const why = isServiceError(error) && error.code === 'database_locked' ? `another process on this PERSISTENT_DATA_DIR is preparing it (${preparedLockPath(this.config)})` : (fileSystemCode(error) ?? messageOf(error))
      this.log.info(`not preparing the embedded database in the background: ${why}; choosing it in the setup creates it then`)
      return null
    }
    const started = performance.now()
    try {
      // Under the lock nobody else prepares here: what is there was left by a server that was killed.
      await rm(dir, { recursive: true, force: true })
      if (this.ended) return null
      await mkdir(dir)
      const identity = await currentIdentity(this.config)
      const applied = await createPgliteDataDir(join(dir, 'data'), this.config, { signal: this.abort.signal })
      const stamp: PreparedStamp = { ...identity, applied, builtAt: new Date().toISOString() }
      // Written last, atomically: a folder without its stamp is never used.
      const temp = join(dir, `${STAMP_FILE}.tmp`)
      await writeFile(temp, JSON.stringify(stamp, null, 2))
      await rename(temp, join(dir, STAMP_FILE))
      if (this.ended) return null
      this.log.info({ ms: Math.round(performance.now() - started), folder: dir }, 'prepared the embedded database in the background: choosing it in the setup now takes a moment')
      return stamp
    } catch (error) {
      await this.remove()
      if (!this.ended) {
        const cause = isServiceError(error) ? error.message : (fileSystemCode(error) ?? messageOf(error))
        this.log.warn({ err: error }, `could not prepare the embedded database in the background (${cause}); choosing it in the setup creates it then, which takes a few seconds`)
      }
      return null
    }
  }

  /**
   * Waits for a preparation still running (it has a head start on any new creation), checks the
   * folder was built from exactly what is installed now, and moves it to `dataDir`, which must be
   * missing or empty and is the caller's, under the database's own lock. Null when there is
   * nothing to use; the setup then creates the database itself.
   */
  async claim(dataDir: string): Promise<string[] | null> {
    if (this.ended) return null
    const claiming = this.moveInto(dataDir)
    this.claiming = claiming
    return claiming
  }

  private async moveInto(dataDir: string): Promise<string[] | null> {
    const built = await this.done
    if (!built || this.ended) return null
    this.ended = true
    const dir = preparedDir(this.config)
    try {
      const stamp = JSON.parse(await readFile(join(dir, STAMP_FILE), 'utf8')) as Partial<PreparedStamp>
      const differ = stampDifferences(stamp, await currentIdentity(this.config))
      if (differ.length > 0) {
        this.log.warn({ differ }, `the embedded database prepared in the background was built from something other than what is installed now (${differ.join('; ')}); creating a fresh one instead`)
        return null
      }
      // Without PG_VERSION, PGlite would run initdb on the server's own thread instead of failing.
      await access(join(dir, 'data', 'PG_VERSION'))
      if (!Array.isArray(stamp.applied)) throw new Error('its stamp lists no migrations')
      if (await isMountPoint(dataDir)) {
        // A volume mounted on the folder itself cannot be replaced, only filled: copied, since it is
        // another file system (~40 MB, a fraction of a second), and emptied again if that fails.
        await cp(join(dir, 'data'), dataDir, { recursive: true }).catch(async (error: unknown) => {
          await removeDataFolder(dataDir)
          throw error
        })
      } else {
        await rm(dataDir, { recursive: true, force: true })
        await rename(join(dir, 'data'), dataDir)
      }
      this.log.info({ folder: dataDir }, 'using the embedded database prepared in the background')
      return stamp.applied
    } catch (error) {
      this.log.warn({ err: error }, `the embedded database prepared in the background cannot be used (${fileSystemCode(error) ?? messageOf(error)}); creating a fresh one instead`)
      return null
    } finally {
      await this.remove()
    }
  }

  /**
   * Compiled from the start, while the server waits in the wizard: compiled during the setup, it
   * took the setup's time and CPU instead of saving them (bench/embedded-setup.ts, 2 cores). The
   * price: ~50 MB while the server waits and, where PostgreSQL is chosen, until the process's
   * next full garbage collection or restart (README "Performance").
   */
  async engine(): Promise<WebAssembly.Module | null> {
    return (await this.compiled) ?? null
  }

  /** Kills the child if it still runs and removes the folder: the server stops, or PostgreSQL was chosen. */
  async stop(): Promise<void> {
    this.ended = true
    this.abort.abort()
    // Its code is tens of MB: let it go unless an opened database holds it, for the next full
    // garbage collection to free.
    this.compiled = null
    await this.claiming
    await this.done
    await this.remove()
  }

  /** Only under our lock: without it, the folder is another server's preparation. */
  private remove(): Promise<void> {
    if (!this.lock) return Promise.resolve()
    this.removing ??= (async () => {
      try {
        await rm(preparedDir(this.config), { recursive: true, force: true })
      } catch (error) {
        this.log.warn({ err: error }, `could not remove ${preparedDir(this.config)} (${messageOf(error)}); the next start removes it`)
      } finally {
        await this.lock?.release().catch(() => undefined)
      }
    })()
    return this.removing
  }
}

/**
 * A configured server never prepares: it removes a folder that a server killed while preparing
 * left behind, unless another live server on this PERSISTENT_DATA_DIR is preparing there now.
 */
export async function removeStalePreparation(config: Config, log: FastifyBaseLogger): Promise<void> {
  const dir = preparedDir(config)
  if (!(await stat(dir).then(() => true, () => false))) return
  let lock: PgliteLock
  try {
    lock = await acquirePgliteLock(preparedLockPath(config), dir)
  } catch {
    return
  }
  try {
    await rm(dir, { recursive: true, force: true })
    log.info({ folder: dir }, 'removed an embedded database prepared by a server that did not stop cleanly')
  } catch (error) {
    log.warn({ err: error }, `could not remove ${dir} (${messageOf(error)}); it is unused and can be deleted`)
  } finally {
    await lock.release()
  }
}
