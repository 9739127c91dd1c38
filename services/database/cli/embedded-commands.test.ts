import { spawnSync } from 'node:child_process'
import { copyFile, mkdir, readdir, readFile, stat, truncate, utimes, writeFile } from 'node:fs/promises'
import { join } from 'node:path'
import { describe, expect, it } from 'vitest'
import { exists, tempDir, TEST_ADMIN_TOKEN } from '../../../test/helpers/app.js'
import { dbCli } from '../../../test/helpers/cli.js'
import { REAL_TAGS } from '../../../test/helpers/migrations.js'
import { seedPgliteSetup, withPgliteFolder as withFolder } from '../../../test/helpers/pglite-template.js'
import { SMTP_PASSWORD, withSettingsIn } from '../../../test/helpers/transfer-data.js'
import { EXIT } from './command.js'

async function embeddedInstallation(): Promise<{ dir: string; env: Record<string, string> }> {
  const dir = await tempDir()
  await seedPgliteSetup(dir)
  return { dir, env: { PERSISTENT_DATA_DIR: dir, ADMIN_TOKEN: TEST_ADMIN_TOKEN } }
}

describe('db status, verify, backup and restore on a stopped embedded database', () => {
  it('status --json reads the migrations, the size and the row counts from the folder itself', async () => {
    const { env, dir } = await embeddedInstallation()
    const { code, out } = await dbCli(env, ['status', '--json'])
    expect(code).toBe(EXIT.ok)
    const report = JSON.parse(out)
    expect(report).toMatchObject({ type: 'pglite', source: 'file', location: join(dir, 'pglite'), server: { running: false }, counts_from: 'database', last_error: null })
    expect(report.migrations).toMatchObject({ total: REAL_TAGS.length, applied: REAL_TAGS.length, pending: [], changed: [], unknown: 0 })
    expect(report.size_bytes).toBeGreaterThan(0)
    expect(report.tables).toContainEqual({ table: 'public.kv_entries', rows: 0 })
    const readable = await dbCli(env, ['status'])
    expect(readable.out).toMatch(/migrations:\s+3 of 3 applied; pending: none/)
    expect(readable.out).toMatch(/public\.kv_entries\s+0/)
  })

  it('verify exits 0 on a consistent database, then 3 naming a changed migration, a foreign table, a wrong settings key and stored values that no longer fit', async () => {
    const { env, dir } = await embeddedInstallation()
    const ok = await dbCli(env, ['verify'])
    expect(ok.code).toBe(EXIT.ok)
    expect(ok.out).toContain('is consistent')

    await withFolder(dir, async (client) => {
      await client.exec(`
        update drizzle.__drizzle_migrations set hash = 'tampered' where created_at = (select min(created_at) from drizzle.__drizzle_migrations);
        create table stray (id int);
        insert into settings_meta (name, value) values ('encryption_key', '{"kid":"0000000000000000","fingerprint":"not-this-key"}');
        insert into settings (key, group_id, type, value, encrypted) values
          ('smtp.port', 'smtp', 'number', '70000', false),
          ('plugins.notes.retention_days', 'plugins.notes', 'number', '1.5', false),
          ('smtp.host', 'smtp', 'string', '"mail.example.com"', false)
          on conflict (key) do update set value = excluded.value;`)
    })
    const bad = await dbCli({ ...env, ENCRYPTION_SECRET: 'x'.repeat(40) }, ['verify'])
    expect(bad.code).toBe(EXIT.problems)
    expect(bad.out).toContain('5 problem(s)')
    // Ours and the installed plugin's definitions; smtp.host fits and is not named.
    expect(bad.out).toContain('setting smtp.port: its stored value no longer fits its definition (expected a whole number from 1 to 65535): set it again (PUT /api/settings/smtp.port) or reset it to its default (DELETE)')
    expect(bad.out).toContain('setting plugins.notes.retention_days: its stored value no longer fits its definition (expected a whole number from 0 to 36500)')
    expect(bad.out).toContain(`migration ${REAL_TAGS[0]} was applied with a different hash`)
    expect(bad.out).toContain('table public.stray is not part of our schema')
    expect(bad.out).toMatch(/settings key: the key from ENCRYPTION_SECRET \(id \w+\) is not the one the database recorded \(id 0000000000000000\)/)
  })

  it('backup writes a checked archive that restore brings back, keeping the folder it replaces', async () => {
    const { env: installation, dir } = await embeddedInstallation()
    // Run through npm from a folder of the user's own (npm run moves to the project's, and keeps this one in INIT_CWD).
    const here = await tempDir()
    const env = { ...installation, INIT_CWD: here }
    const file = join(here, 'copy.tar.gz')
    const saved = await dbCli(env, ['backup', 'copy.tar.gz'])
    expect(saved.code, saved.err).toBe(EXIT.ok)
    expect(saved.out).toContain(`backup written to ${file} (`)
    expect(saved.out).toMatch(/checked: 3 migrations/)
    expect(await dbCli(env, ['backup', file])).toMatchObject({ code: EXIT.failed, err: expect.stringContaining('already exists') })

    await withFolder(dir, (client) => client.exec(`insert into kv_entries (key, value) values ('after-backup', '1')`))
    // What a restore killed while unpacking leaves behind.
    const interrupted = join(dir, 'pglite.restoring-2026-01-01T00-00-00Z')
    await mkdir(interrupted)
    await writeFile(join(interrupted, 'PG_VERSION'), '18')
    const restored = await dbCli(env, ['restore', 'copy.tar.gz'])
    expect(restored.code, restored.err).toBe(EXIT.ok)
    expect(restored.out).toContain(`restored ${file}:`)
    expect(restored.out).toMatch(/kept as .*pglite\.before-restore-/)
    expect((await stat(join(dir, 'pglite'))).mode & 0o777).toBe(0o700)
    expect(restored.out).toContain(`removed ${interrupted}, left by a restore that was interrupted`)
    expect(await exists(interrupted)).toBe(false)
    expect(await withFolder(dir, async (client) => (await client.query(`select count(*)::int as n from kv_entries`)).rows)).toEqual([{ n: 0 }])
    const kept = (await readdir(dir)).find((name) => name.startsWith('pglite.before-restore-'))!
    expect(await exists(join(dir, kept, 'PG_VERSION'))).toBe(true)
  })

  it('backup into a folder with --keep removes the oldest embedded backups there, and nothing else', async () => {
    const { env } = await embeddedInstallation()
    const folder = await tempDir()
    const untouched = ['notes.txt', 'pglite-old.tar.gz', 'pglite-2026-03-01T00-00-00Z.tar.gz.partial', 'postgresql-2020-01-01T00-00-00Z.groundwork.gz']
    for (const name of [...untouched, 'pglite-2026-01-01T00-00-00Z.tar.gz', 'pglite-2026-02-01T00-00-00Z.tar.gz', 'pglite-2026-03-01T00-00-00Z.tar.gz']) await writeFile(join(folder, name), 'x')
    await mkdir(join(folder, 'pglite-2020-01-01T00-00-00Z.tar.gz')) // named like one, but a folder: not a backup
    untouched.push('pglite-2020-01-01T00-00-00Z.tar.gz')

    // Usage errors come first, before the database is read; nothing written or removed.
    for (const [args, said] of [
      [['backup', folder, '--keep', '0'], '--keep must be a whole number from 1'],
      [['backup', folder, '--keep', 'all'], '--keep must be a whole number from 1'],
      [['backup', join(folder, 'mine.tar.gz'), '--keep', '2'], `--keep counts the backups named pglite-<timestamp>.tar.gz in a folder, and mine.tar.gz is not named that way: give its folder instead (${folder})`],
    ] as const) {
      expect(await dbCli(env, [...args])).toMatchObject({ code: EXIT.usage, err: expect.stringContaining(said) })
    }
    expect((await readdir(folder)).length).toBe(untouched.length + 3)

    const saved = await dbCli(env, ['backup', folder, '--keep', '2'])
    expect(saved.code, saved.err).toBe(EXIT.ok)
    const written = /backup written to (\S+) \(/.exec(saved.out)![1]!
    expect(written).toMatch(new RegExp(`^${folder}/pglite-\\d{4}-\\d\\d-\\d\\dT\\d\\d-\\d\\d-\\d\\dZ\\.tar\\.gz$`))
    expect((await stat(written)).mode & 0o777).toBe(0o600)
    expect(saved.out).toContain(`--keep 2: removed the 2 oldest from ${folder} (pglite-2026-02-01T00-00-00Z.tar.gz, pglite-2026-01-01T00-00-00Z.tar.gz); 2 backups of this kind kept`)
    expect((await readdir(folder)).sort()).toEqual([...untouched, 'pglite-2026-03-01T00-00-00Z.tar.gz', written.slice(folder.length + 1)].sort())
  })

  it('backup removes what backups killed outright left in its folder once their process is gone and six hours have passed', async () => {
    const { env, dir } = await embeddedInstallation()
    const folder = join(dir, 'backups')
    await mkdir(folder)
    const gone = spawnSync('true').pid! // a process that ran and ended: its id is free
    const old = new Date(Date.now() - 7 * 60 * 60 * 1000)
    const abandoned = [
      `pglite-2026-01-01T00-00-00Z.tar.gz.${gone}.tmp`,
      `pglite-2026-01-01T00-00-00Z.tar.gz.${gone}.tmp.check-Ab12Cd`,
      `.postgresql-2026-01-01T00-00-00Z.groundwork.gz.${gone}.deadbeef.tmp`,
      `copy.tar.gz.${gone}.tmp`,
    ]
    const kept = [
      `pglite-2026-02-01T00-00-00Z.tar.gz.${gone}.tmp`, // recent: maybe another machine's backup into a shared folder
      `pglite-2026-03-01T00-00-00Z.tar.gz.${process.ppid}.tmp`, // its process still runs (the CLI runs in this one)
      `notes.${gone}.tmp`,
    ]
    for (const name of [...abandoned, ...kept]) {
      if (name.includes('.check-')) {
        await mkdir(join(folder, name, 'base'), { recursive: true })
        await writeFile(join(folder, name, 'base', '1'), 'x')
      } else {
        await writeFile(join(folder, name), 'x')
      }
      if (name !== kept[0]) await utimes(join(folder, name), old, old)
    }
    const saved = await dbCli(env, ['backup'])
    expect(saved.code, saved.err).toBe(EXIT.ok)
    const line = saved.out.split('\n').find((text) => text.startsWith('removed what backups killed before they finished left in'))
    expect(line?.split(': ')[1]?.split(', ').sort()).toEqual([...abandoned].sort())
    const left = await readdir(folder)
    expect(left.filter((name) => !/^pglite-.*Z\.tar\.gz$/.test(name)).sort()).toEqual([...kept].sort())
  })

  it("backup and restore say where the encrypted settings' key is, which never travels in a backup", async () => {
    const { env, dir } = await embeddedInstallation()
    await withSettingsIn(env, (settings) => settings.set('smtp.password', SMTP_PASSWORD))
    const file = join(dir, 'copy.tar.gz')
    const saved = await dbCli(env, ['backup', file])
    expect(saved.code, saved.err).toBe(EXIT.ok)
    expect(saved.out).toContain(`the backup holds 1 encrypted setting, and not the key that reads it: keep a copy of the key file ${join(dir, 'encryption.key')} apart from the backup`)

    // A new machine: nothing chosen there, and no key yet. Restoring an embedded backup chooses the
    // embedded database, and says what to copy before the server starts (which would generate another key).
    const fresh = await tempDir()
    const freshEnv = { PERSISTENT_DATA_DIR: fresh }
    const freshKey = join(fresh, 'encryption.key')
    const restored = await dbCli(freshEnv, ['restore', file])
    expect(restored.code, restored.err).toBe(EXIT.ok)
    expect(restored.out).toContain(`this installation had no database chosen: the embedded database is now chosen (${join(fresh, 'db.selection.json')}), as the setup wizard would`)
    expect(JSON.parse(await readFile(join(fresh, 'db.selection.json'), 'utf8'))).toMatchObject({ type: 'pglite' })
    expect(restored.out).toContain(
      `which this installation does not have (ENCRYPTION_SECRET is not set and ${freshKey} does not exist). Before starting the server, copy encryption.key from the installation the backup came from to ${freshKey} (mode 0600), or set the ENCRYPTION_SECRET it used. A server started without it generates a key of its own, and then the 1 encrypted setting it holds cannot be read`,
    )
    expect(await exists(freshKey)).toBe(false)

    // Another key: named as another, with what to change.
    const other = await dbCli({ ...freshEnv, ENCRYPTION_SECRET: 'y'.repeat(40) }, ['restore', file])
    expect(other.code, other.err).toBe(EXIT.ok)
    expect(other.out).toMatch(/which is not this installation's \(id \w{16}, from ENCRYPTION_SECRET\)\. Before starting the server, set ENCRYPTION_SECRET to the one it used/)

    // The key file copied over, as the warning says: the restore finds it matching, and the secret reads back.
    await copyFile(join(dir, 'encryption.key'), freshKey)
    const matched = await dbCli(freshEnv, ['restore', file])
    expect(matched.out).toContain(`its 1 encrypted setting can be read with this installation's key (the key file ${freshKey})`)
    expect(matched.out).not.toContain('warning')
    expect(await withSettingsIn(freshEnv, (settings) => settings.get('smtp.password'))).toBe(SMTP_PASSWORD)
  })

  it('restore of a backup from a newer version (migrations this build does not have) exits 1 and leaves the database as it was', async () => {
    const newer = await embeddedInstallation()
    await withFolder(newer.dir, (client) => client.exec(`insert into drizzle.__drizzle_migrations (hash, created_at) values ('from-a-newer-build', 9999999999999)`))
    const file = join(newer.dir, 'newer.tar.gz')
    expect((await dbCli(newer.env, ['backup', file])).code).toBe(EXIT.ok)

    const { env, dir } = await embeddedInstallation()
    await withFolder(dir, (client) => client.exec(`insert into kv_entries (key, value) values ('kept', '1')`))
    const { code, err } = await dbCli(env, ['restore', file])
    expect(code, err).toBe(EXIT.failed)
    expect(err).toContain(`cannot be restored: it was taken from a database migrated by a newer version of groundwork (1 migration this build does not have, ${REAL_TAGS.length + 1} in the backup, ${REAL_TAGS.length} here): restore it with that version, or a newer one. Nothing was changed.`)
    expect((await readdir(dir)).filter((name) => name.startsWith('pglite'))).toEqual(['pglite'])
    expect(await withFolder(dir, async (client) => (await client.query(`select key from kv_entries`)).rows)).toEqual([{ key: 'kept' }])
  })

  it('restore of a file that is not a backup exits 1 and leaves the database as it was', async () => {
    const { env, dir } = await embeddedInstallation()
    await withFolder(dir, (client) => client.exec(`insert into kv_entries (key, value) values ('kept', '1')`))
    const junk = join(dir, 'junk.tar.gz')
    await writeFile(junk, 'not a tarball')
    const { code, err } = await dbCli(env, ['restore', junk])
    expect(code).toBe(EXIT.failed)
    expect(err).toContain('cannot be restored')
    expect(err).toContain('Nothing was changed')
    expect((await readdir(dir)).filter((name) => name.startsWith('pglite'))).toEqual(['pglite'])
    expect(await withFolder(dir, async (client) => (await client.query(`select key from kv_entries`)).rows)).toEqual([{ key: 'kept' }])
  })

  it('restore of a backup cut short exits 1 saying so, and leaves the database as it was', async () => {
    const { env, dir } = await embeddedInstallation()
    const file = join(dir, 'copy.tar.gz')
    expect((await dbCli(env, ['backup', file])).code).toBe(EXIT.ok)
    await withFolder(dir, (client) => client.exec(`insert into kv_entries (key, value) values ('kept', '1')`))
    await truncate(file, 1_000_000)
    const { code, err } = await dbCli(env, ['restore', file])
    expect(code, err).toBe(EXIT.failed)
    expect(err).toMatch(/cannot be restored: it is damaged or cut short \(unexpected end of file\): copy it again from where it was made\. Nothing was changed\./)
    expect((await readdir(dir)).filter((name) => name.startsWith('pglite'))).toEqual(['pglite'])
    expect(await withFolder(dir, async (client) => (await client.query(`select key from kv_entries`)).rows)).toEqual([{ key: 'kept' }])
    // A leftover of an interrupted restore goes first, and the failure says so instead of "nothing".
    const interrupted = join(dir, 'pglite.restoring-2026-01-01T00-00-00Z')
    await mkdir(interrupted)
    const again = await dbCli(env, ['restore', file])
    expect(again.code, again.err).toBe(EXIT.failed)
    expect(again.err).toContain(`: copy it again from where it was made. The database was not changed (removed first: ${interrupted}, left by a restore that was interrupted).`)
    expect((await readdir(dir)).filter((name) => name.startsWith('pglite'))).toEqual(['pglite'])
    expect(await withFolder(dir, async (client) => (await client.query(`select key from kv_entries`)).rows)).toEqual([{ key: 'kept' }])
  })

  it('restore of a path that is not a file (missing, a folder) exits 1 saying so, and leaves the database as it was', async () => {
    const { env, dir } = await embeddedInstallation()
    await withFolder(dir, (client) => client.exec(`insert into kv_entries (key, value) values ('kept', '1')`))
    for (const path of [join(dir, 'no-such-backup.gz'), dir]) {
      const { code, err } = await dbCli(env, ['restore', path])
      expect(code, err).toBe(EXIT.failed)
      expect(err).toContain(`${path} is not a file: give the path of a backup made by "npm run db -- backup". Nothing was changed.`)
      expect(err).not.toContain('Unhandled')
    }
    expect((await readdir(dir)).filter((name) => name.startsWith('pglite'))).toEqual(['pglite'])
    expect(await withFolder(dir, async (client) => (await client.query(`select key from kv_entries`)).rows)).toEqual([{ key: 'kept' }])
  })

  it('up takes a checked backup before applying pending migrations, and none when there is nothing to apply', async () => {
    const { env, dir } = await embeddedInstallation()
    // Ours only (no plugins): the plugins' case is up.test.ts's.
    expect((await dbCli(env, ['up'], { pluginsFolder: null })).out).not.toContain('backup written')
    await withFolder(dir, (client) => client.exec(`delete from drizzle.__drizzle_migrations where created_at = (select max(created_at) from drizzle.__drizzle_migrations); drop table kv_entries`))
    const { code, out } = await dbCli(env, ['up'], { pluginsFolder: null })
    expect(code).toBe(EXIT.ok)
    expect(out).toMatch(/backup written to .*backups\/pglite-.*\.tar\.gz/)
    expect(out).toContain(`applied ${REAL_TAGS.at(-1)}`)
    expect(await readdir(join(dir, 'backups'))).toHaveLength(1)
  })

  it('says PERSISTENT_DATA_DIR is a file, not a folder, before any command runs', async () => {
    const file = join(await tempDir(), 'not-a-folder')
    await writeFile(file, 'x')
    for (const command of ['status', 'backup', 'restore']) {
      const { code, err } = await dbCli({ PERSISTENT_DATA_DIR: file, DB_TYPE: 'pglite' }, command === 'restore' ? [command, file] : [command])
      expect(code, command).toBe(EXIT.failed)
      expect(err, command).toContain(`PERSISTENT_DATA_DIR (${file}) is a file, not a folder. Set PERSISTENT_DATA_DIR to a folder`)
    }
  })

  it('says the folder does not exist instead of creating one', async () => {
    const dir = await tempDir()
    const env = { PERSISTENT_DATA_DIR: dir, DB_TYPE: 'pglite' }
    for (const command of ['verify', 'backup']) {
      const { code, err } = await dbCli(env, [command])
      expect(code, command).toBe(EXIT.failed)
      expect(err).toContain(`The embedded database ${join(dir, 'pglite')} does not exist yet`)
    }
    expect(await exists(join(dir, 'pglite'))).toBe(false)
  })
})
