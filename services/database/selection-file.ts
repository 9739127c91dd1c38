import { randomBytes } from 'node:crypto'
import { mkdir, open, readFile, rename, rm } from 'node:fs/promises'
import { join } from 'node:path'
import { DATABASE_TYPES, type DatabaseType } from '../core/config.js'
import { unwritable } from './persistent-data.js'

export const SELECTION_FILE = 'db.selection.json'
export const SELECTION_VERSION = '1.0'

export interface Selection {
  type: DatabaseType
  selectedAt: string
  version: typeof SELECTION_VERSION
}

export type SelectionRead =
  | { kind: 'absent'; path: string }
  | { kind: 'valid'; path: string; selection: Selection }
  | { kind: 'invalid'; path: string; problem: string }

export function selectionPath(dataDir: string): string {
  return join(dataDir, SELECTION_FILE)
}

/** Reads the wizard's choice. A file that exists but cannot be trusted is reported, never guessed at. */
export async function readSelection(dataDir: string): Promise<SelectionRead> {
  const path = selectionPath(dataDir)
  let text: string
  try {
    text = await readFile(path, 'utf8')
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code === 'ENOENT') return { kind: 'absent', path }
    return { kind: 'invalid', path, problem: `it cannot be read (${(error as NodeJS.ErrnoException).code})` }
  }
  let data: unknown
  try {
    data = JSON.parse(text)
  } catch {
    return { kind: 'invalid', path, problem: 'it is not valid JSON' }
  }
  if (typeof data !== 'object' || data === null || Array.isArray(data)) {
    return { kind: 'invalid', path, problem: 'it is not a JSON object' }
  }
  const { type, selectedAt, version } = data as Record<string, unknown>
  if (version !== SELECTION_VERSION) {
    return { kind: 'invalid', path, problem: `its "version" is ${JSON.stringify(version)}; this build reads version "${SELECTION_VERSION}"` }
  }
  if (typeof type !== 'string' || !(DATABASE_TYPES as readonly string[]).includes(type)) {
    return { kind: 'invalid', path, problem: `its "type" is ${JSON.stringify(type)}; expected one of ${DATABASE_TYPES.join(', ')}` }
  }
  if (typeof selectedAt !== 'string' || Number.isNaN(Date.parse(selectedAt))) {
    return { kind: 'invalid', path, problem: `its "selectedAt" is ${JSON.stringify(selectedAt)}; expected an ISO date` }
  }
  return { kind: 'valid', path, selection: { type: type as DatabaseType, selectedAt, version } }
}

/**
 * Writes the choice so that a crash at any moment leaves either no file or the whole file:
 * temp file in the same folder, fsync, rename over, fsync the folder.
 */
export async function writeSelection(dataDir: string, selection: Selection): Promise<void> {
  try {
    await writeAtomically(dataDir, selection)
  } catch (error) {
    throw unwritable(dataDir, selectionPath(dataDir), error)
  }
}

async function writeAtomically(dataDir: string, selection: Selection): Promise<void> {
  await mkdir(dataDir, { recursive: true })
  const path = selectionPath(dataDir)
  const temp = join(dataDir, `.${SELECTION_FILE}.${process.pid}.${randomBytes(4).toString('hex')}.tmp`)
  try {
    const file = await open(temp, 'wx', 0o644)
    try {
      await file.writeFile(`${JSON.stringify(selection, null, 2)}\n`)
      await file.sync()
    } finally {
      await file.close()
    }
    await rename(temp, path)
  } catch (error) {
    await rm(temp, { force: true })
    throw error
  }
  const dir = await open(dataDir, 'r')
  try {
    await dir.sync()
  } finally {
    await dir.close()
  }
}
