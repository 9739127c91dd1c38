import { readFileSync } from 'node:fs'
import { cp, readFile, writeFile } from 'node:fs/promises'
import { join } from 'node:path'
import { findProjectRoot } from '../../services/core/project-root.js'
import { tempDir } from './app.js'

export const REAL_MIGRATIONS = join(findProjectRoot(), 'drizzle')

/** The tags in drizzle/, in order: tests count from these, so adding a migration changes no test. */
export const REAL_TAGS: string[] = (JSON.parse(readFileSync(join(REAL_MIGRATIONS, 'meta', '_journal.json'), 'utf8')) as { entries: { tag: string }[] }).entries.map((entry) => entry.tag)

/** A copy of drizzle/ with extra migrations appended to its journal, as drizzle-kit would write them. */
export async function migrationsWith(extra: { tag: string; sql: string; when?: number }[]): Promise<string> {
  const folder = join(await tempDir('groundwork-migrations-'), 'drizzle')
  await cp(REAL_MIGRATIONS, folder, { recursive: true })
  const journalPath = join(folder, 'meta', '_journal.json')
  const journal = JSON.parse(await readFile(journalPath, 'utf8')) as { entries: { idx: number; when: number; tag: string; version: string; breakpoints: boolean }[] }
  const last = journal.entries.at(-1)!
  for (const [i, migration] of extra.entries()) {
    journal.entries.push({ idx: journal.entries.length, version: last.version, when: migration.when ?? last.when + 1000 * (i + 1), tag: migration.tag, breakpoints: true })
    await writeFile(join(folder, `${migration.tag}.sql`), migration.sql)
  }
  await writeFile(journalPath, JSON.stringify(journal, null, 2))
  return folder
}
