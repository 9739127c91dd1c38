import type { Config, DatabaseType } from '../core/config.js'
import { readSelection } from './selection-file.js'

export type Choice =
  | { kind: 'none' }
  | { kind: 'chosen'; type: DatabaseType; source: 'file' | 'environment'; selectedAt: string | null }
  | { kind: 'invalid'; message: string }

/** Which database this installation uses: DB_TYPE, else the wizard's selection file. The server and db:up both ask here. */
export async function readChoice(config: Config): Promise<Choice> {
  const file = await readSelection(config.persistentDataDir)
  if (file.kind === 'invalid') {
    return {
      kind: 'invalid',
      message: `The database selection file ${file.path} is invalid: ${file.problem}. It was left untouched. Fix it, or move it away to run the setup again (the data itself is not in that file), then restart.`,
    }
  }
  const envType = config.dbType
  if (envType && file.kind === 'valid' && file.selection.type !== envType) {
    return {
      kind: 'invalid',
      message: `DB_TYPE=${envType} disagrees with ${file.path}, which chose ${file.selection.type}. Starting on either could hide the other's data: unset DB_TYPE or move the file away, then restart.`,
    }
  }
  if (envType) return { kind: 'chosen', type: envType, source: 'environment', selectedAt: file.kind === 'valid' ? file.selection.selectedAt : null }
  if (file.kind === 'valid') return { kind: 'chosen', type: file.selection.type, source: 'file', selectedAt: file.selection.selectedAt }
  return { kind: 'none' }
}
