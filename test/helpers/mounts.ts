import { execFileSync } from 'node:child_process'
import { mkdir, rm, writeFile, truncate } from 'node:fs/promises'
import { join } from 'node:path'
import { onTestFinished, type TestContext } from 'vitest'
import { tempDir } from './app.js'

/**
 * A real file system mounted on a new temporary folder for this test (`mount <options> <dir>`,
 * e.g. a small tmpfs for a full disk), or on the folder `at` (created), unmounted and removed when
 * the test ends. Needs root and mount rights: skips the test, saying so, where the sandbox forbids mounts.
 */
export async function mountedForTest(ctx: TestContext, options: string[], at?: string): Promise<string> {
  const dir = at ?? (await tempDir('groundwork-mount-'))
  if (at) await mkdir(at, { recursive: true })
  try {
    execFileSync('mount', options.concat(dir), { stdio: 'pipe' })
  } catch (error) {
    await rm(dir, { recursive: true, force: true })
    ctx.skip(`cannot mount a file system here (${String(error).split('\n')[0]})`)
  }
  onTestFinished(async () => {
    execFileSync('umount', ['-l', dir])
    await rm(dir, { recursive: true, force: true })
  })
  return dir
}

/**
 * A fresh ext4 file system (a sparse 200 MB image on a loop device) mounted on the folder `at`, as a
 * volume formatted by mkfs arrives: holding lost+found. Skips the test where mkfs.ext4 or loop
 * mounts are not available.
 */
export async function ext4ForTest(ctx: TestContext, at: string): Promise<string> {
  const image = join(await tempDir('groundwork-ext4-'), 'volume.img')
  await writeFile(image, '')
  await truncate(image, 200 * 1024 * 1024)
  try {
    execFileSync('mkfs.ext4', ['-q', '-F', image], { stdio: 'pipe' })
  } catch (error) {
    ctx.skip(`cannot make an ext4 file system here (${String(error).split('\n')[0]})`)
  }
  return mountedForTest(ctx, ['-o', 'loop', image], at)
}
