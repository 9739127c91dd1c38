import { randomBytes } from 'node:crypto'
import { hostname } from 'node:os'
import { linkSync, readFileSync, rmSync, statSync, writeFileSync } from 'node:fs'
import { link, lstat, readFile, readlink, rename, rm, stat, utimes, writeFile } from 'node:fs/promises'
import { ServiceError } from '../core/errors.js'
import { databaseError } from './errors.js'

/**
 * PGlite has no lock of its own: two processes opening one data directory silently corrupt it.
 * This lock file records its owner; the owner touches it every HEARTBEAT_MS. It is taken over
 * only when its owner is provably gone: a dead PID on this host, or no heartbeat for STALE_MS
 * (the owner was on another host or container and stopped without cleaning up).
 */
export const HEARTBEAT_MS = 10_000
export const STALE_MS = 60_000

interface Owner {
  pid: number
  hostname: string
  startedAt: string
  token: string
}

export interface PgliteLock {
  readonly path: string
  /** This holder's random id, written in the lock file: names which opening of which folder holds it. */
  readonly token: string
  release(): Promise<void>
}

const heldHere = new Set<string>()

export async function acquirePgliteLock(path: string, dataDir: string): Promise<PgliteLock> {
  for (let attempt = 0; attempt < 3; attempt++) {
    const owner: Owner = { pid: process.pid, hostname: hostname(), startedAt: new Date().toISOString(), token: randomBytes(8).toString('hex') }
    if (heldHere.has(path)) throw lockedError(path, dataDir, owner, 'this same process')
    if (await tryCreate(path, owner)) return held(path, owner)

    const current = await readOwner(path)
    if (current === 'gone') {
      await refuseDanglingLink(path)
      continue
    }
    const verdict = await staleness(path, current)
    if (verdict !== 'stale') throw lockedError(path, dataDir, current === 'unreadable' ? null : current, verdict)
    await takeOver(path, current)
  }
  throw databaseError('database_locked', `Could not take the lock ${path} after several attempts: another process keeps taking it. Make sure only one process uses ${dataDir}.`)
}

export interface LockHolder {
  pid: number | null
  /** "process 123 on this machine (running since …)", for messages. */
  who: string
  /** The holder's id from the lock file, when it can be read (pgliteLockHolder): a server asked for this database can prove it holds it. */
  token?: string
}

/** Who holds the lock, without taking it: null when nobody does (no lock file, or its owner is provably gone). */
export async function pgliteLockHolder(path: string): Promise<LockHolder | null> {
  const current = await readOwner(path)
  if (heldHere.has(path)) return { pid: process.pid, who: 'this same process', ...(current === 'gone' || current === 'unreadable' ? {} : { token: current.token }) }
  if (current === 'gone') return null
  const verdict = await staleness(path, current)
  if (verdict === 'stale') return null
  return current === 'unreadable' ? { pid: null, who: verdict } : { pid: current.pid, who: verdict, token: current.token }
}

/**
 * pgliteLockHolder for code that cannot wait (drizzle.config.ts is loaded with require()):
 * the same verdict, read synchronously.
 */
export function pgliteLockHolderSync(path: string): LockHolder | null {
  if (heldHere.has(path)) return { pid: process.pid, who: 'this same process' }
  let owner: Owner | 'unreadable'
  try {
    const data = JSON.parse(readFileSync(path, 'utf8')) as Partial<Owner>
    owner = typeof data.pid === 'number' && typeof data.hostname === 'string' && typeof data.token === 'string' ? (data as Owner) : 'unreadable'
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code === 'ENOENT') return null
    owner = 'unreadable'
  }
  if (owner !== 'unreadable' && owner.hostname === hostname()) {
    return owner.pid !== process.pid && isAlive(owner.pid) ? { pid: owner.pid, who: `process ${owner.pid} on this machine (running since ${owner.startedAt})` } : null
  }
  const age = Date.now() - statSync(path).mtimeMs
  if (age > STALE_MS) return null
  return { pid: owner === 'unreadable' ? null : owner.pid, who: owner === 'unreadable' ? 'an unknown process' : `process ${owner.pid} on host ${owner.hostname}` }
}

/**
 * Takes the lock for the rest of this process's life (released at exit), synchronously, or
 * returns false when someone holds it. For drizzle-kit, which opens the folder itself.
 */
export function takePgliteLockForProcess(path: string): boolean {
  if (pgliteLockHolderSync(path)) return false
  rmSync(path, { force: true }) // nobody holds it: what is there is stale
  const owner: Owner = { pid: process.pid, hostname: hostname(), startedAt: new Date().toISOString(), token: randomBytes(8).toString('hex') }
  const temp = `${path}.${owner.token}.tmp`
  writeFileSync(temp, JSON.stringify(owner))
  try {
    linkSync(temp, path)
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code === 'EEXIST') return false
    throw error
  } finally {
    rmSync(temp, { force: true })
  }
  process.once('exit', () => {
    try {
      if ((JSON.parse(readFileSync(path, 'utf8')) as Owner).token === owner.token) rmSync(path, { force: true })
    } catch {
      // Already gone.
    }
  })
  return true
}

async function tryCreate(path: string, owner: Owner): Promise<boolean> {
  // link() fails with EEXIST if the lock exists, so the file appears with its content at once.
  const temp = `${path}.${owner.token}.tmp`
  await writeFile(temp, JSON.stringify(owner))
  try {
    await link(temp, path)
    return true
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code === 'EEXIST') return false
    throw error
  } finally {
    await rm(temp, { force: true })
  }
}

async function readOwner(path: string): Promise<Owner | 'unreadable' | 'gone'> {
  try {
    const data = JSON.parse(await readFile(path, 'utf8')) as Partial<Owner>
    if (typeof data.pid === 'number' && typeof data.hostname === 'string' && typeof data.token === 'string') return data as Owner
    return 'unreadable'
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code === 'ENOENT') return 'gone'
    return 'unreadable'
  }
}

async function staleness(path: string, owner: Owner | 'unreadable'): Promise<'stale' | string> {
  if (owner !== 'unreadable' && owner.hostname === hostname()) {
    if (owner.pid === process.pid) return 'stale' // our PID, but not held by us: left by an earlier life of this PID
    if (!isAlive(owner.pid)) return 'stale'
    return `process ${owner.pid} on this machine (running since ${owner.startedAt})`
  }
  const age = Date.now() - (await stat(path)).mtimeMs
  if (age > STALE_MS) return 'stale'
  const who = owner === 'unreadable' ? 'an unknown process' : `process ${owner.pid} on host ${owner.hostname}`
  return `${who}, last seen ${Math.round(age / 1000)} s ago (taken over after ${STALE_MS / 1000} s without a sign of life)`
}

/** Whether a process with this id runs on this machine (a zombie does not count). */
export function isAlive(pid: number): boolean {
  try {
    process.kill(pid, 0)
  } catch (error) {
    return (error as NodeJS.ErrnoException).code === 'EPERM'
  }
  // kill(0) succeeds on a zombie: a server killed with -9 stays one until its parent reaps it.
  return !['Z', 'X'].includes(processState(pid) ?? '')
}

function processState(pid: number): string | null {
  try {
    const stat = readFileSync(`/proc/${pid}/stat`, 'utf8')
    // The name in parentheses may itself contain ") ", so the state follows the last one.
    return stat.charAt(stat.lastIndexOf(')') + 2) || null
  } catch {
    return null
  }
}

/** readFile says ENOENT both when the lock vanished and when it is a symbolic link to nowhere; the second never goes away by itself. */
async function refuseDanglingLink(path: string): Promise<void> {
  const info = await lstat(path).catch(() => null)
  if (!info?.isSymbolicLink()) return
  const target = await readlink(path)
  throw databaseError(
    'database_locked',
    `The lock file ${path} is a symbolic link to ${target}, which does not exist: it is not a lock this server wrote. Delete it (rm ${path}) and try again.`,
    { details: { lock_file: path, owner_pid: null } },
  )
}

async function takeOver(path: string, stale: Owner | 'unreadable'): Promise<void> {
  // Move the stale file aside, then check it is the one we judged: another process may have
  // replaced it in between, and its fresh lock must be put back, not deleted.
  const aside = `${path}.${randomBytes(4).toString('hex')}.stale`
  try {
    await rename(path, aside)
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code === 'ENOENT') return
    throw error
  }
  const moved = await readOwner(aside)
  const same = stale === 'unreadable' ? moved === 'unreadable' : moved !== 'gone' && moved !== 'unreadable' && moved.token === stale.token
  if (!same) {
    await link(aside, path).catch(() => undefined)
  }
  await rm(aside, { force: true })
}

function held(path: string, owner: Owner): PgliteLock {
  heldHere.add(path)
  const beat = setInterval(() => {
    const now = new Date()
    utimes(path, now, now).catch(() => undefined)
  }, HEARTBEAT_MS)
  beat.unref()
  let released = false
  return {
    path,
    token: owner.token,
    async release() {
      if (released) return
      released = true
      clearInterval(beat)
      heldHere.delete(path)
      const current = await readOwner(path)
      if (current !== 'gone' && current !== 'unreadable' && current.token === owner.token) await rm(path, { force: true })
    },
  }
}

function lockedError(path: string, dataDir: string, owner: Owner | null, who: string): ServiceError {
  return databaseError(
    'database_locked',
    `The embedded database in ${dataDir} is in use by ${who}. PGlite allows one process at a time: ` +
      `stop that process first (a running server applies migrations itself at startup, so "npm run db:up" is not needed while it runs). ` +
      `If no such process exists, delete ${path}.`,
    { details: { lock_file: path, owner_pid: owner?.pid ?? null } },
  )
}
