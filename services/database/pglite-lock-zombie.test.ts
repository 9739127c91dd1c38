import { spawn, type ChildProcess } from 'node:child_process'
import { readFile, symlink, writeFile } from 'node:fs/promises'
import { hostname } from 'node:os'
import { join } from 'node:path'
import { afterEach, describe, expect, it } from 'vitest'
import { tempDir } from '../../test/helpers/app.js'
import { acquirePgliteLock, type PgliteLock } from './pglite-lock.js'

const held: PgliteLock[] = []
const children: ChildProcess[] = []
afterEach(async () => {
  await Promise.all(held.splice(0).map((lock) => lock.release()))
  for (const child of children.splice(0)) child.kill('SIGKILL')
})

async function lockIn(dir: string) {
  const lock = await acquirePgliteLock(join(dir, 'pglite.lock'), join(dir, 'pglite'))
  held.push(lock)
  return lock
}

async function processState(pid: number): Promise<string> {
  const stat = await readFile(`/proc/${pid}/stat`, 'utf8')
  return stat.slice(stat.lastIndexOf(')') + 2, stat.lastIndexOf(')') + 3)
}

/** A real zombie: a shell backgrounds a short sleep, then becomes `sleep 30`, which never reaps it. */
async function zombie(): Promise<number> {
  const parent = spawn('sh', ['-c', 'sleep 0.1 & echo $!; exec sleep 30'], { stdio: ['ignore', 'pipe', 'ignore'] })
  children.push(parent)
  const pid = await new Promise<number>((resolve) => parent.stdout!.once('data', (chunk: Buffer) => resolve(Number(chunk.toString().trim()))))
  const deadline = Date.now() + 5_000
  while ((await processState(pid)) !== 'Z') {
    if (Date.now() > deadline) throw new Error(`process ${pid} did not become a zombie`)
    await new Promise((resolve) => setTimeout(resolve, 20))
  }
  return pid
}

describe('the PGlite lock and dead owners', () => {
  it('takes over a lock whose owner is a zombie (killed, not yet reaped)', async () => {
    const dir = await tempDir()
    const pid = await zombie()
    await writeFile(join(dir, 'pglite.lock'), JSON.stringify({ pid, hostname: hostname(), startedAt: '2026-01-01T00:00:00.000Z', token: 'dead' }))
    const lock = await lockIn(dir)
    expect(JSON.parse(await readFile(lock.path, 'utf8')).pid).toBe(process.pid)
  })

  it('says what a dangling symbolic link in place of the lock is, instead of blaming another process', async () => {
    const dir = await tempDir()
    const path = join(dir, 'pglite.lock')
    await symlink(join(dir, 'nowhere'), path)
    const error = await lockIn(dir).catch((e: unknown) => e)
    expect(error).toMatchObject({ code: 'database_locked' })
    expect((error as Error).message).toBe(
      `The lock file ${path} is a symbolic link to ${join(dir, 'nowhere')}, which does not exist: it is not a lock this server wrote. Delete it (rm ${path}) and try again.`,
    )
  })
})
