import { spawnSync } from 'node:child_process'
import { mkdir, mkdtemp, readdir, utimes, writeFile } from 'node:fs/promises'
import { join } from 'node:path'
import { describe, expect, it } from 'vitest'
import { tempDir } from '../../../test/helpers/app.js'
import { checkFolderPrefix } from '../embedded-snapshot.js'
import { logicalBackupTempPath } from '../transfer/logical-backup.js'
import { backupNamePattern, removeAbandonedTemps } from './backup-retention.js'
import { backupTempPath, defaultBackupName } from './embedded-backup.js'

describe('removeAbandonedTemps', () => {
  it('recognises what the backups really write: names from their own builders, not copies of them', async () => {
    const folder = await tempDir()
    const gone = spawnSync('true').pid! // a process that ran and ended
    const embedded = backupTempPath(join(folder, defaultBackupName('pglite')), gone)
    await writeFile(embedded, 'x')
    const check = await mkdtemp(checkFolderPrefix(embedded))
    await mkdir(join(check, 'base'))
    await writeFile(logicalBackupTempPath(join(folder, defaultBackupName('postgresql')), gone), 'x')
    const names = await readdir(folder)
    expect(names).toHaveLength(3)
    const old = new Date(Date.now() - 7 * 60 * 60 * 1000)
    for (const name of names) await utimes(join(folder, name), old, old)

    expect((await removeAbandonedTemps(folder)).sort()).toEqual(names.sort())
    expect(await readdir(folder)).toEqual([])
  })

  it('counts as backups exactly the names defaultBackupName gives', () => {
    expect(backupNamePattern('pglite').test(defaultBackupName('pglite'))).toBe(true)
    expect(backupNamePattern('postgresql').test(defaultBackupName('postgresql'))).toBe(true)
    expect(backupNamePattern('pglite').test(defaultBackupName('postgresql'))).toBe(false)
    expect(backupNamePattern('pglite').test(`${defaultBackupName('pglite')}.partial`)).toBe(false)
  })
})
