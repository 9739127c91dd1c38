import { randomBytes } from 'node:crypto'
import { openAsBlob } from 'node:fs'
import { cp, readdir, readFile, symlink, writeFile } from 'node:fs/promises'
import { join } from 'node:path'
import { gunzipSync, gzipSync } from 'node:zlib'
import { create as createTar } from 'tar'
import { PGlite } from '@electric-sql/pglite'
import pino from 'pino'
import { afterEach, describe, expect, inject, it, vi } from 'vitest'
import { AUTH, buildTestApp, tempDir, testConfig, type TestApp } from '../../test/helpers/app.js'
import { eventually } from '../../test/helpers/apps.js'
import { mountedForTest } from '../../test/helpers/mounts.js'
import { openFilesUnder } from '../../test/helpers/processes.js'
import { openConnection, type DatabaseConnection } from './connection.js'
import { archiveFolder, tarHeader } from './embedded-archive.js'
import { checkArchive, snapshotPglite, streamSnapshot } from './embedded-snapshot.js'

interface Listed {
  name: string
  type: string
  size: number
  mode: number
}

/** The entries of an (uncompressed) tar, read from its headers; the checksum of each is checked. */
function list(tar: Buffer): Listed[] {
  const found: Listed[] = []
  for (let at = 0; at + 512 <= tar.length; ) {
    const header = tar.subarray(at, at + 512)
    if (header.every((byte) => byte === 0)) break
    const text = (from: number, length: number) => header.toString('utf8', from, from + length).replace(/\0.*$/s, '')
    const stored = parseInt(text(148, 8).trim(), 8)
    let sum = 0
    for (let i = 0; i < 512; i++) sum += i >= 148 && i < 156 ? 32 : header[i]!
    expect(sum, `checksum of ${text(0, 100)}`).toBe(stored)
    const prefix = text(345, 155)
    const size = parseInt(text(124, 12), 8)
    found.push({ name: prefix ? `${prefix}/${text(0, 100)}` : text(0, 100), type: text(156, 1), size, mode: parseInt(text(100, 8), 8) })
    at += 512 + Math.ceil(size / 512) * 512
  }
  return found
}

const open: { close(): Promise<unknown> }[] = []
afterEach(async () => {
  await Promise.all(open.splice(0).map((thing) => thing.close().catch(() => undefined)))
})

/**
 * A copy of the suite's migrated embedded database, opened the way the server opens it, with a
 * table of `rows` values of ~100 KB that do not compress.
 */
async function database(rows: number): Promise<PGlite> {
  const dataDir = await tempDir()
  await cp(inject('pgliteTemplate'), join(dataDir, 'pglite'), { recursive: true })
  const connection: DatabaseConnection = await openConnection('pglite', testConfig({ PERSISTENT_DATA_DIR: dataDir }), pino({ level: 'silent' }))
  open.push(connection)
  connection.started()
  const client = connection.pglite!
  await client.exec('create table notes (id int primary key, body text)')
  for (let i = 0; i < rows; i++) await client.query('insert into notes values ($1, $2)', [i, randomBytes(75_000).toString('base64')])
  return client
}

describe('archiveFolder', () => {
  it("lists what PGlite's dumpDataDir lists, entry for entry, and PGlite loads it back", async () => {
    const client = await database(30)
    const file = join(await tempDir(), 'ours.tar.gz')
    const [bytes, theirs] = await client.transaction(async () => [await archiveFolder(client.dataDir!, file), Buffer.from(await (await client.dumpDataDir('none')).arrayBuffer())] as const)
    const compressed = await readFile(file)
    expect(bytes).toBe(compressed.length)
    const ours = gunzipSync(compressed)
    const sorted = (entries: Listed[]) => [...entries].sort((a, b) => a.name.localeCompare(b.name))
    const listed = list(ours)
    expect(listed.length).toBeGreaterThan(900)
    expect(listed.find((entry) => entry.name === '/PG_VERSION')).toMatchObject({ type: '0' })
    expect(sorted(listed)).toEqual(sorted(list(theirs)))
    // Each folder comes before what it holds, as restoring in order needs.
    const seen = new Set<string>([''])
    for (const entry of listed) {
      expect(seen.has(entry.name.slice(0, entry.name.lastIndexOf('/'))), entry.name).toBe(true)
      if (entry.type === '5') seen.add(entry.name)
    }

    const copy = new PGlite({ loadDataDir: new Blob([ours]) })
    open.push(copy)
    expect((await copy.query<{ n: number }>('select count(*)::int as n from notes')).rows[0]!.n).toBe(30)
  })

  it('refuses a folder holding anything but files and folders, naming it, and writes nothing', async () => {
    const root = await tempDir()
    await writeFile(join(root, 'PG_VERSION'), '18')
    await symlink('/etc', join(root, 'pg_tblspc'))
    const out = join(await tempDir(), 'archive.tar.gz')
    await expect(archiveFolder(root, out)).rejects.toThrow(`${join(root, 'pg_tblspc')} is neither a file nor a folder`)
    await expect(readFile(out)).rejects.toMatchObject({ code: 'ENOENT' })
  })

  it('puts a name over 100 bytes in the prefix field, and refuses one tar cannot hold', () => {
    const name = `/${'d'.repeat(80)}/${'f'.repeat(60)}`
    const header = tarHeader({ name, directory: false, size: 3, mode: 0o600, mtime: 0 })
    expect(list(Buffer.concat([header, Buffer.alloc(512), Buffer.alloc(1024)]))).toEqual([{ name, type: '0', size: 3, mode: 0o600 }])
    expect(() => tarHeader({ name: `/${'f'.repeat(120)}`, directory: false, size: 0, mode: 0o600, mtime: 0 })).toThrow(/too long/)
  })
})

describe('snapshotPglite', () => {
  it("reads the server's folder itself, not through dumpDataDir, and the archive passes the backup's check", async () => {
    const client = await database(5)
    await client.query(`insert into kv_entries (key, value) values ('a', '1'), ('b', '2')`)
    const dump = vi.spyOn(client, 'dumpDataDir')
    const file = join(await tempDir(), 'backup.tar.gz')
    const { counts } = await snapshotPglite(client, file)
    expect(dump).not.toHaveBeenCalled()
    expect(counts).toContainEqual(expect.objectContaining({ table: expect.stringContaining('kv_entries'), rows: 2 }))
    const check = await checkArchive(file, counts)
    expect(check.migrations).toBeGreaterThan(0)
    const copy = new PGlite({ loadDataDir: await openAsBlob(file) })
    open.push(copy)
    expect((await copy.query<{ n: number }>('select count(*)::int as n from notes')).rows[0]!.n).toBe(5)
  })

  it('refuses a database kept in memory, saying so, and writes nothing', async () => {
    const file = join(await tempDir(), 'backup.tar.gz')
    for (const dataDir of [undefined, 'memory://']) {
      await expect(snapshotPglite({ dataDir } as PGlite, file)).rejects.toThrow(/only an embedded database in a data folder can be backed up/)
    }
    await expect(readFile(file)).rejects.toMatchObject({ code: 'ENOENT' })
  })

  it('as a stream: its file is gone from PERSISTENT_DATA_DIR once open, and one a dead server left is removed', async () => {
    const client = await database(3)
    const persistent = await tempDir()
    await writeFile(join(persistent, '.backup-left-by-a-crash.partial'), 'half an archive')
    await writeFile(join(persistent, 'mine.txt'), 'kept')
    const { archive, bytes, counts } = await streamSnapshot(client, persistent)
    expect(await readdir(persistent)).toEqual(['mine.txt'])
    const chunks: Buffer[] = []
    for await (const chunk of archive) chunks.push(chunk as Buffer)
    const whole = Buffer.concat(chunks)
    expect(whole.length).toBe(bytes)
    await writeFile(join(persistent, 'sent.tar.gz'), whole)
    expect((await checkArchive(join(persistent, 'sent.tar.gz'), counts)).migrations).toBeGreaterThan(0)
  })
})

describe('checkArchive', () => {
  it('reads the archive unpacked beside it, gzipped or not, compares its counts, and leaves nothing there', async () => {
    const dir = await tempDir()
    const file = join(dir, 'backup.tar.gz')
    const { counts } = await snapshotPglite(await database(1), file)
    expect((await checkArchive(file, counts)).migrations).toBeGreaterThan(0)
    // The counts the backup read must be the counts of what it wrote.
    const wrong = counts.map((count) => (count.table === 'public.kv_entries' ? { ...count, rows: 99 } : count))
    await expect(checkArchive(file, wrong)).rejects.toThrow('its row counts differ from the database it was taken from (public.kv_entries: expected 99, found 0)')
    await writeFile(join(dir, 'backup.tar'), gunzipSync(await readFile(file)))
    expect((await checkArchive(join(dir, 'backup.tar'), counts)).migrations).toBeGreaterThan(0)
    expect((await readdir(dir)).sort()).toEqual(['backup.tar', 'backup.tar.gz'])
  })

  it('refuses an archive cut short, damaged, with an entry it will not write, or not an archive, saying which', async () => {
    const file = join(await tempDir(), 'backup.tar.gz')
    await snapshotPglite(await database(1), file)
    const whole = await readFile(file)
    const tar = gunzipSync(whole)
    const notes = await tempDir()
    await writeFile(join(notes, 'PG_VERSION'), '18')
    await symlink('/etc', join(notes, 'etc'))
    const withLink = join(await tempDir(), 'link.tar.gz')
    await createTar({ cwd: notes, file: withLink, gzip: true }, ['PG_VERSION', 'etc'])
    const escaping = gzipSync(Buffer.concat([tarHeader({ name: '/../escaped', directory: false, size: 1, mode: 0o600, mtime: 0 }), Buffer.alloc(512), Buffer.alloc(1024)]))
    const cases: [string, Buffer, RegExp][] = [
      ['cut short', whole.subarray(0, Math.floor(whole.length / 2)), /^it is damaged or cut short \(unexpected end of file\): copy it again from where it was made$/],
      ['its tar cut short', gzipSync(tar.subarray(0, Math.floor(tar.length / 2))), /^it is damaged or cut short \(TAR_BAD_ARCHIVE: Truncated input/],
      ['bytes after its end', Buffer.concat([whole, Buffer.from('not part of the archive')]), /^it is damaged or cut short \(incorrect header check\)/],
      ['a symbolic link', await readFile(withLink), /^it is damaged: etc is neither a file nor a folder \(SymbolicLink\)$/],
      ['a name with ..', escaping, /^it is damaged: TAR_ENTRY_ERROR: path contains '\.\.'$/],
      ['no database in it', gzipSync(Buffer.concat([tarHeader({ name: '/notes.txt', directory: false, size: 1, mode: 0o600, mtime: 0 }), Buffer.alloc(512), Buffer.alloc(1024)])), /^it holds no database folder \(no PG_VERSION at its top\)$/],
      ['a text file', Buffer.from('# notes\n'.repeat(200)), /^it is not an archive of an embedded database \(a backup made by "npm run db -- backup" is a \.tar\.gz\)$/],
      ['an empty file', Buffer.alloc(0), /^it is not an archive of an embedded database/],
    ]
    // A data folder that is not ours: the same database without the migrations journal.
    const foreignClient = await database(1)
    await foreignClient.exec('drop schema drizzle cascade')
    const foreign = join(await tempDir(), 'foreign.tar.gz')
    await snapshotPglite(foreignClient, foreign)
    cases.push(
      ['no migrations journal', await readFile(foreign), /^it has no migrations journal \(drizzle\.__drizzle_migrations\): it is not a database of this application$/],
      ['a PG_VERSION and nothing else', gzipSync(Buffer.concat([tarHeader({ name: '/PG_VERSION', directory: false, size: 3, mode: 0o600, mtime: 0 }), Buffer.from('18\n'.padEnd(512, '\0')), Buffer.alloc(1024)])), /^it does not open as an embedded database \(/],
    )
    for (const [name, bytes, message] of cases) {
      const dir = await tempDir()
      const path = join(dir, 'case.tar.gz')
      await writeFile(path, bytes)
      await expect(checkArchive(path), name).rejects.toThrow(message)
      expect(await readdir(dir), name).toEqual(['case.tar.gz'])
    }
  })
})

describe('checkArchive on a disk without room to unpack the archive', () => {
  it('says so, and leaves only the archive', async (ctx) => {
    const source = join(await tempDir(), 'backup.tar.gz')
    await snapshotPglite(await database(1), source)
    // ~5 MB compressed, ~40 MB unpacked.
    const dir = await mountedForTest(ctx, ['-t', 'tmpfs', '-o', 'size=20m', 'tmpfs'])
    const file = join(dir, 'backup.tar.gz')
    await cp(source, file)
    await expect(checkArchive(file)).rejects.toThrow(`there is no room to unpack it in ${dir} (ENOSPC): it needs about the size of the database's folder there. Free some space and try again`)
    expect(await readdir(dir)).toEqual(['backup.tar.gz'])
  })
})

describe('GET /api/db/backup', () => {
  it('closes and frees the copy when the client goes away half-way', async () => {
    const dataDir = await tempDir()
    const t: TestApp = await buildTestApp({}, { dataDir, seedPglite: true })
    open.push({ close: () => t.close() })
    await t.ready()
    // ~24 MB compressed: more than the sockets between the two ends buffer, so the answer is still being sent when the client goes.
    for (let i = 0; i < 80; i++) {
      const res = await t.app.inject({ method: 'PUT', url: `/api/kv/big-${i}`, headers: AUTH, payload: { value: randomBytes(300_000).toString('base64') } })
      expect(res.statusCode).toBe(200)
    }
    const address = await t.app.listen({ host: '127.0.0.1', port: 0 })
    const abort = new AbortController()
    const res = await fetch(`${address}/api/db/backup`, { headers: AUTH, signal: abort.signal })
    expect(res.status).toBe(200)
    expect(Number(res.headers.get('content-length'))).toBeGreaterThan(20_000_000)
    const reader = res.body!.getReader()
    await reader.read()
    // Sent from a removed file that only the answer holds open.
    expect((await openFilesUnder(dataDir)).filter((file) => file.includes('.backup-'))).toEqual([expect.stringMatching(/\.partial \(deleted\)$/)])
    abort.abort()
    await eventually('the copy closed', () => openFilesUnder(dataDir), (files) => !files.some((file) => file.includes('.backup-')))
    expect((await readdir(dataDir)).filter((name) => name.startsWith('.backup-'))).toEqual([])
    // And the database serves on.
    expect((await t.app.inject({ method: 'GET', url: '/api/kv/big-3', headers: AUTH })).statusCode).toBe(200)
  })
})
