import { spawn } from 'node:child_process'
import { readFile, stat, utimes, writeFile } from 'node:fs/promises'
import { hostname } from 'node:os'
import { join } from 'node:path'
import { afterEach, describe, expect, it, vi } from 'vitest'
import { tempDir } from '../../test/helpers/app.js'
import { HEARTBEAT_MS, STALE_MS, acquirePgliteLock, type PgliteLock } from './pglite-lock.js'

const held: PgliteLock[] = []
afterEach(async () => {
  await Promise.all(held.splice(0).map((lock) => lock.release()))
})

async function lockIn(dir: string) {
  const lock = await acquirePgliteLock(join(dir, 'pglite.lock'), join(dir, 'pglite'))
  held.push(lock)
  return lock
}

function ownerFile(pid: number, host = hostname()) {
  return JSON.stringify({ pid, hostname: host, startedAt: '2026-01-01T00:00:00.000Z', token: 'other' })
}

describe('the PGlite lock', () => {
  it('records its owner and is removed on release', async () => {
    const dir = await tempDir()
    const lock = await lockIn(dir)
    expect(JSON.parse(await readFile(lock.path, 'utf8'))).toMatchObject({ pid: process.pid, hostname: hostname() })
    await lock.release()
    await expect(readFile(lock.path)).rejects.toMatchObject({ code: 'ENOENT' })
  })

  it('refuses a second holder in the same process', async () => {
    const dir = await tempDir()
    await lockIn(dir)
    await expect(lockIn(dir)).rejects.toMatchObject({ code: 'database_locked', message: expect.stringContaining('this same process') })
  })

  it('refuses while another live process holds it, naming the process and the file to delete if it is gone', async () => {
    const dir = await tempDir()
    const child = spawn(process.execPath, ['-e', 'setTimeout(() => {}, 60000)'], { stdio: 'ignore' })
    try {
      await writeFile(join(dir, 'pglite.lock'), ownerFile(child.pid!))
      const error = await lockIn(dir).catch((e: unknown) => e)
      expect(error).toMatchObject({ code: 'database_locked', details: { owner_pid: child.pid } })
      expect((error as Error).message).toContain(`process ${child.pid} on this machine`)
      expect((error as Error).message).toContain(`delete ${join(dir, 'pglite.lock')}`)
    } finally {
      child.kill()
    }
  })

  it('takes over a lock whose process on this machine has died', async () => {
    const dir = await tempDir()
    const child = spawn(process.execPath, ['-e', ''], { stdio: 'ignore' })
    await new Promise((resolve) => child.on('exit', resolve))
    await writeFile(join(dir, 'pglite.lock'), ownerFile(child.pid!))
    const lock = await lockIn(dir)
    expect(JSON.parse(await readFile(lock.path, 'utf8')).pid).toBe(process.pid)
  })

  it('respects a lock from another host while it shows signs of life, and takes it over once it is silent', async () => {
    const dir = await tempDir()
    const path = join(dir, 'pglite.lock')
    await writeFile(path, ownerFile(1234, 'another-container'))
    await expect(lockIn(dir)).rejects.toMatchObject({ code: 'database_locked', message: expect.stringContaining('process 1234 on host another-container') })
    const longAgo = new Date(Date.now() - STALE_MS - 5_000)
    await utimes(path, longAgo, longAgo)
    const lock = await lockIn(dir)
    expect(JSON.parse(await readFile(lock.path, 'utf8')).hostname).toBe(hostname())
  })

  it('touches its file every HEARTBEAT_MS while held, so a process on another host never finds it stale, and stops once released', async () => {
    // Only the interval is simulated: the file, its mtime and the clock are real.
    vi.useFakeTimers({ toFake: ['setInterval', 'clearInterval'] })
    try {
      const dir = await tempDir()
      const lock = await lockIn(dir)
      const longAgo = new Date(Date.now() - STALE_MS - 5_000)
      await utimes(lock.path, longAgo, longAgo)
      const stale = (await stat(lock.path)).mtimeMs

      await vi.advanceTimersByTimeAsync(HEARTBEAT_MS - 1)
      expect((await stat(lock.path)).mtimeMs).toBe(stale)
      await vi.advanceTimersByTimeAsync(1)
      const touched = await eventuallyFresh(lock.path)
      expect(Date.now() - touched).toBeLessThan(STALE_MS)

      await lock.release()
      await writeFile(lock.path, ownerFile(1234, 'another-container'))
      await utimes(lock.path, longAgo, longAgo)
      await vi.advanceTimersByTimeAsync(3 * HEARTBEAT_MS)
      await new Promise((resolve) => setTimeout(resolve, 100))
      expect((await stat(lock.path)).mtimeMs).toBe(stale)
    } finally {
      vi.useRealTimers()
    }
  })
})

/** The heartbeat's utimes() runs on the real file system: wait for it to land. */
async function eventuallyFresh(path: string): Promise<number> {
  for (let i = 0; i < 100; i++) {
    const { mtimeMs } = await stat(path)
    if (Date.now() - mtimeMs < 5_000) return mtimeMs
    await new Promise((resolve) => setTimeout(resolve, 20))
  }
  throw new Error(`${path} was not touched by the heartbeat`)
}
