import { mkdir, stat } from 'node:fs/promises'
import { join } from 'node:path'
import { describe, expect, it } from 'vitest'
import { tempDir } from '../../test/helpers/app.js'
import { restrictDataFolder } from './persistent-data.js'

describe('restrictDataFolder', () => {
  it('makes the folder owner-only, and says what failed and the command to run when it cannot', async () => {
    const dir = join(await tempDir(), 'pglite')
    await mkdir(dir, { mode: 0o755 })
    expect(await restrictDataFolder(dir)).toBeNull()
    expect((await stat(dir)).mode & 0o777).toBe(0o700)
    // EPERM (a folder another user owns) cannot be provoked as root, as the tests run: a missing folder takes the same path.
    const missing = join(dir, 'gone')
    expect(await restrictDataFolder(missing)).toBe(`Could not make ${missing} readable by its owner only (ENOENT): other users of this machine may read and change the embedded database's files. Run: chmod 700 ${missing}`)
  })
})
