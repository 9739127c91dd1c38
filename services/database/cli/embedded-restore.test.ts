import { readdir } from 'node:fs/promises'
import { join } from 'node:path'
import { describe, expect, it } from 'vitest'
import { tempDir, TEST_ADMIN_TOKEN } from '../../../test/helpers/app.js'
import { dbCli } from '../../../test/helpers/cli.js'
import { mountedForTest } from '../../../test/helpers/mounts.js'
import { seedPgliteSetup, withPgliteFolder } from '../../../test/helpers/pglite-template.js'
import { EXIT } from './command.js'

/** A backup of an embedded installation holding one KV row. */
async function backupFile(): Promise<string> {
  const dir = await tempDir()
  await seedPgliteSetup(dir)
  await withPgliteFolder(dir, (client) => client.exec(`insert into kv_entries (key, value) values ('in-backup', '1')`))
  const file = join(dir, 'copy.tar.gz')
  const saved = await dbCli({ PERSISTENT_DATA_DIR: dir, ADMIN_TOKEN: TEST_ADMIN_TOKEN }, ['backup', file])
  expect(saved.code, saved.err).toBe(EXIT.ok)
  return file
}

const keys = (dir: string) => withPgliteFolder(dir, async (client) => (await client.query<{ key: string }>(`select key from kv_entries order by key`)).rows.map((row) => row.key))

describe('db restore of an embedded database, where the folder cannot simply be swapped', () => {
  it('refuses, before unpacking anything, when persistent_data/pglite is a mount point, and says what to do instead', async (ctx) => {
    const file = await backupFile()
    const dir = await tempDir()
    await mountedForTest(ctx, ['-t', 'tmpfs', '-o', 'size=200m', 'tmpfs'], join(dir, 'pglite'))
    await seedPgliteSetup(dir)
    await withPgliteFolder(dir, (client) => client.exec(`insert into kv_entries (key, value) values ('in-use', '1')`))

    const restored = await dbCli({ PERSISTENT_DATA_DIR: dir, ADMIN_TOKEN: TEST_ADMIN_TOKEN }, ['restore', file])
    expect(restored.code).toBe(EXIT.failed)
    expect(restored.err).toContain(`${join(dir, 'pglite')} is a mount point`)
    expect(restored.err).toContain(`Mount the volume on ${dir} (PERSISTENT_DATA_DIR) instead`)
    expect(restored.err).toContain(`DB_TYPE=pglite PERSISTENT_DATA_DIR=<other folder> npm run db -- restore ${file}`)
    expect(restored.err).toContain('Nothing was changed.')
    expect((await readdir(dir)).filter((name) => name.startsWith('pglite.'))).not.toContainEqual(expect.stringMatching(/restoring|before-restore/))
    expect(await keys(dir)).toEqual(['in-use'])

    // The way round it the message gives: restore elsewhere (a folder that does not exist yet), then copy in.
    const other = join(await tempDir(), 'new', 'data')
    const elsewhere = await dbCli({ DB_TYPE: 'pglite', PERSISTENT_DATA_DIR: other }, ['restore', file])
    expect(elsewhere.code, elsewhere.err).toBe(EXIT.ok)
    expect(await keys(other)).toEqual(['in-backup'])
  })
})
