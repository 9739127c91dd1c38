import { readdir, readFile, stat } from 'node:fs/promises'
import { join } from 'node:path'
import { expect, it, type TestContext } from 'vitest'
import { describePostgres, exists, tempDir } from '../../../test/helpers/app.js'
import { databaseForTest } from '../../../test/helpers/postgres-apps.js'
import { dbCli } from '../../../test/helpers/cli.js'
import { ext4ForTest, mountedForTest } from '../../../test/helpers/mounts.js'
import { closedPort } from '../../../test/helpers/network.js'
import { entryIn, runTs, waitFor } from '../../../test/helpers/processes.js'
import { digestPglite } from '../../../test/helpers/transfer-data.js'
import { SELECTION_VERSION, writeSelection } from '../selection-file.js'
import { EXIT } from './command.js'

const selectionIn = async (dir: string, file = 'db.selection.json') => JSON.parse(await readFile(join(dir, file), 'utf8')).type as string

describePostgres('db transfer --to pglite into the installation\'s own folder', () => {
  it('creates persistent_data/pglite, switches the selection to it keeping the old one as .bak, and says how to go back', async () => {
    const database = await databaseForTest()
    const dataDir = await tempDir()
    const env = { ...database.env, PERSISTENT_DATA_DIR: dataDir }
    await writeSelection(dataDir, { type: 'postgresql', selectedAt: new Date().toISOString(), version: SELECTION_VERSION })
    expect((await dbCli(env, ['up'])).code).toBe(EXIT.ok)
    await database.query(`insert into kv_entries (key, value) select 'k' || g, to_jsonb(g) from generate_series(1, 300) g`)

    const run = await dbCli(env, ['transfer', '--to', 'pglite'])
    expect(run.code, run.err).toBe(EXIT.ok)
    expect(await selectionIn(dataDir)).toBe('pglite')
    expect(await selectionIn(dataDir, 'db.selection.json.bak')).toBe('postgresql')
    expect(run.out).toContain('"mv" it back to return to PostgreSQL')
    expect((await digestPglite(join(dataDir, 'pglite'))).kv_entries!.rows).toBe(300)
    expect((await stat(join(dataDir, 'pglite'))).mode & 0o777).toBe(0o700)

    // A second run finds the folder in use and changes nothing.
    const again = await dbCli(env, ['transfer', '--to', 'pglite'])
    expect(again.code).toBe(EXIT.failed)
    expect(again.err).toContain('is not empty')
    expect(await selectionIn(dataDir)).toBe('pglite')
  })

  it('interrupted (Ctrl-C) while it builds the copy: removes the embedded database it was building and leaves the target folder missing, exit 130', async () => {
    const database = await databaseForTest()
    const dir = await tempDir()
    const env = { ...database.env, PERSISTENT_DATA_DIR: dir, LOG_LEVEL: 'silent', PORT: String(await closedPort()) }
    await writeSelection(dir, { type: 'postgresql', selectedAt: new Date().toISOString(), version: SELECTION_VERSION })
    expect((await dbCli(env, ['up'])).code).toBe(EXIT.ok)

    const copy = join(dir, 'copy')
    const running = runTs('services/database/cli/main.ts', env, ['transfer', '--to', 'pglite', '--data-dir', copy])
    const building = await waitFor('the folder it builds the copy in', running, 60_000, entryIn(dir, /^\.copy\.transfer-\d+$/), 10)
    const exit = await running.signal('SIGINT')
    expect(exit, running.output()).toEqual({ code: 130, signal: null })
    expect(running.output()).toContain(`interrupted (SIGINT): removed what it had not finished: ${join(dir, building)}.`)
    expect(await exists(join(dir, building))).toBe(false)
    expect(await exists(copy)).toBe(false)
  })
  // tmpfs: an empty mount point; ext4: one holding lost+found, as a formatted volume arrives.
  const mounts = { tmpfs: (ctx: TestContext, at: string) => mountedForTest(ctx, ['-t', 'tmpfs', '-o', 'size=100m', 'tmpfs'], at), ext4: ext4ForTest }

  it.for(Object.entries(mounts))('into a pglite folder that is a mount point (%s): refused before copying anything, saying what to do instead', async ([, mount], ctx) => {
    const database = await databaseForTest()
    const dir = await tempDir()
    const env = { ...database.env, PERSISTENT_DATA_DIR: dir }
    await writeSelection(dir, { type: 'postgresql', selectedAt: new Date().toISOString(), version: SELECTION_VERSION })
    expect((await dbCli(env, ['up'])).code).toBe(EXIT.ok)
    const mounted = await mount(ctx, join(dir, 'pglite'))
    const before = await readdir(mounted)

    const run = await dbCli(env, ['transfer', '--to', 'pglite'])
    expect(run.code).toBe(EXIT.failed)
    expect(run.err).toContain(`${mounted} is a mount point`)
    expect(run.err).toContain(`build the copy with --data-dir <other folder>, then, with the server stopped, "cp -a <other folder>/. ${mounted}/"`)
    expect(run.out).not.toContain('copying')
    expect(await readdir(mounted)).toEqual(before)
    expect((await readdir(dir)).filter((name) => name.includes('transfer'))).toEqual([])
    expect(await selectionIn(dir)).toBe('postgresql')
  })
})
