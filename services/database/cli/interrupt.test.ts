import { readdir } from 'node:fs/promises'
import { join } from 'node:path'
import { describe, expect, it } from 'vitest'
import { tempDir, TEST_ADMIN_TOKEN } from '../../../test/helpers/app.js'
import { closedPort } from '../../../test/helpers/network.js'
import { entryIn, runTs, waitFor } from '../../../test/helpers/processes.js'
import { seedPgliteSetup, withPgliteFolder as withFolder } from '../../../test/helpers/pglite-template.js'

const ROWS = 400

/** An embedded installation with ~13 MB of rows that barely compress, so a backup's unpacking takes a while. */
async function embeddedInstallation(): Promise<{ dir: string; env: Record<string, string> }> {
  const dir = await tempDir()
  await seedPgliteSetup(dir)
  await withFolder(dir, (client) =>
    client.exec(`insert into kv_entries (key, value)
      select 'k' || g, jsonb_build_object('b', (select string_agg(md5(random()::text || i || g), '') from generate_series(1, 1000) i))
      from generate_series(1, ${ROWS}) g`),
  )
  return { dir, env: { PERSISTENT_DATA_DIR: dir, ADMIN_TOKEN: TEST_ADMIN_TOKEN, LOG_LEVEL: 'silent', PORT: String(await closedPort()) } }
}

// Each test runs the CLI as two or three processes that open PGlite: ~10 s alone, three times that on a loaded machine.
describe('an interrupted db command removes what it had half written', { timeout: 90_000 }, () => {
  it('db backup stopped with Ctrl-C while it checks its copy: no temp file, no check folder, no backup, exit 130', async () => {
    const { dir, env } = await embeddedInstallation()
    const running = runTs('services/database/cli/main.ts', env, ['backup', join(dir, 'copy.tar.gz')])
    const check = await waitFor('the folder checking the copy', running, 60_000, entryIn(dir, /^copy\.tar\.gz\.\d+\.tmp\.check-/), 10)
    const exit = await running.signal('SIGINT')
    expect(exit, running.output()).toEqual({ code: 130, signal: null })
    expect(running.output()).toMatch(new RegExp(`interrupted \\(SIGINT\\): removed what it had not finished: .*copy\\.tar\\.gz\\.\\d+\\.tmp, .*${check}\\.`))
    expect((await readdir(dir)).filter((name) => name.startsWith('copy'))).toEqual([])
    expect(await withFolder(dir, async (client) => (await client.query(`select count(*)::int as n from kv_entries`)).rows)).toEqual([{ n: ROWS }])
  })

  it('db restore stopped with SIGTERM while it unpacks: the unpacked folder goes, the database stays as it was, exit 143', async () => {
    const { dir, env } = await embeddedInstallation()
    const file = join(dir, 'copy.tar.gz')
    const saved = runTs('services/database/cli/main.ts', env, ['backup', file])
    expect(await saved.exited, saved.output()).toEqual({ code: 0, signal: null })
    await withFolder(dir, (client) => client.exec(`insert into kv_entries (key, value) values ('after-backup', '1')`))

    const running = runTs('services/database/cli/main.ts', env, ['restore', file])
    const fresh = await waitFor('the folder it unpacks into', running, 60_000, entryIn(dir, /^pglite\.restoring-/), 10)
    const exit = await running.signal('SIGTERM')
    expect(exit, running.output()).toEqual({ code: 143, signal: null })
    expect(running.output()).toContain(`interrupted (SIGTERM): removed what it had not finished: ${join(dir, fresh)}.`)
    expect((await readdir(dir)).filter((name) => /^pglite\.(restoring|before-restore)-/.test(name))).toEqual([])
    expect(await withFolder(dir, async (client) => (await client.query(`select count(*)::int as n from kv_entries`)).rows)).toEqual([{ n: ROWS + 1 }])
  })
})
