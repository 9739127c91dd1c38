import { readdir } from 'node:fs/promises'
import { join } from 'node:path'
import { describe, expect, it, onTestFinished, vi } from 'vitest'
import { PGlite } from '@electric-sql/pglite'
import { tempDir, TEST_ADMIN_TOKEN } from '../../../test/helpers/app.js'
import { dbCli } from '../../../test/helpers/cli.js'
import { seedPgliteSetup, withPgliteFolder } from '../../../test/helpers/pglite-template.js'
import { EXIT } from './command.js'

// The two renames that swap a restored folder in fail here on demand (a permission changed, a
// file system that refuses): the cases no real disk here produces at will.
const renames = vi.hoisted(() => ({ fail: (_from: string, _to: string): boolean => false }))
vi.mock('node:fs/promises', async (importOriginal) => {
  const actual = await importOriginal<typeof import('node:fs/promises')>()
  return {
    ...actual,
    rename: async (from: string, to: string) => {
      if (renames.fail(String(from), String(to))) throw Object.assign(new Error(`EACCES: permission denied, rename '${from}' -> '${to}'`), { code: 'EACCES' })
      return actual.rename(from, to)
    },
  }
})

function failRenames(when: (from: string, to: string) => boolean): void {
  renames.fail = when
  onTestFinished(() => void (renames.fail = () => false))
}

/** An installation whose database holds the key 'in-use', and a backup of it made before, holding 'in-backup' instead. */
async function installationAndBackup(): Promise<{ dir: string; env: Record<string, string>; file: string }> {
  const dir = await tempDir()
  await seedPgliteSetup(dir)
  const env = { PERSISTENT_DATA_DIR: dir, ADMIN_TOKEN: TEST_ADMIN_TOKEN }
  await withPgliteFolder(dir, (client) => client.exec(`insert into kv_entries (key, value) values ('in-backup', '1')`))
  const file = join(dir, 'copy.tar.gz')
  expect((await dbCli(env, ['backup', file])).code).toBe(EXIT.ok)
  await withPgliteFolder(dir, (client) => client.exec(`delete from kv_entries; insert into kv_entries (key, value) values ('in-use', '1')`))
  return { dir, env, file }
}

const keysIn = async (folder: string) => {
  const client = new PGlite(folder)
  try {
    return (await client.query<{ key: string }>(`select key from kv_entries order by key`)).rows.map((row) => row.key)
  } finally {
    await client.close()
  }
}
const extraFolders = async (dir: string) => (await readdir(dir)).filter((name) => /^pglite\.(restoring|before-restore)-/.test(name))

describe('db restore when swapping the restored folder in fails', () => {
  it('the folder in use cannot be moved aside: exit 1 saying so, nothing changed, nothing left', async () => {
    const { dir, env, file } = await installationAndBackup()
    failRenames((from, to) => from === join(dir, 'pglite') && to.includes('.before-restore-'))
    const restored = await dbCli(env, ['restore', file])
    expect(restored.code).toBe(EXIT.failed)
    expect(restored.err).toMatch(new RegExp(`was unpacked and checked, but ${join(dir, 'pglite')} could not be moved aside to .*pglite\\.before-restore-.* \\(EACCES: permission denied.*\\): nothing was changed`))
    expect(await keysIn(join(dir, 'pglite'))).toEqual(['in-use'])
    expect(await extraFolders(dir)).toEqual([])
  })

  it('the restored folder cannot be moved into place: the folder in use is moved back, exit 1 saying so', async () => {
    const { dir, env, file } = await installationAndBackup()
    failRenames((from) => from.includes('.restoring-'))
    const restored = await dbCli(env, ['restore', file])
    expect(restored.code).toBe(EXIT.failed)
    expect(restored.err).toContain(`could not be moved into place as ${join(dir, 'pglite')} (EACCES: permission denied`)
    expect(restored.err).toContain('the folder in use was moved back, nothing was changed')
    expect(await keysIn(join(dir, 'pglite'))).toEqual(['in-use'])
    expect(await extraFolders(dir)).toEqual([])
  })

  it('neither that nor moving the folder in use back works: exit 1 naming where it is, intact, and the mv that puts it back', async () => {
    const { dir, env, file } = await installationAndBackup()
    failRenames((from) => from.includes('.restoring-') || from.includes('.before-restore-'))
    const restored = await dbCli(env, ['restore', file])
    expect(restored.code).toBe(EXIT.failed)
    const [previous] = await extraFolders(dir)
    expect(previous).toMatch(/^pglite\.before-restore-/)
    expect(restored.err).toContain(`it is intact at ${join(dir, previous!)}. Move it back by hand before starting the server: mv "${join(dir, previous!)}" "${join(dir, 'pglite')}"`)
    expect(await keysIn(join(dir, previous!))).toEqual(['in-use'])
    expect(await extraFolders(dir)).toEqual([previous])
  })
})
