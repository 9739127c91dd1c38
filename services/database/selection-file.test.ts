import { readdir, readFile, writeFile } from 'node:fs/promises'
import { join } from 'node:path'
import { describe, expect, it } from 'vitest'
import { tempDir } from '../../test/helpers/app.js'
import { readSelection, writeSelection } from './selection-file.js'

describe('the selection file', () => {
  it('is absent until written, then reads back exactly as written, leaving no temp file behind', async () => {
    const dir = await tempDir()
    expect(await readSelection(dir)).toMatchObject({ kind: 'absent' })
    const selection = { type: 'postgresql', selectedAt: '2026-01-02T18:22:15.000Z', version: '1.0' } as const
    await writeSelection(dir, selection)
    expect(await readSelection(dir)).toEqual({ kind: 'valid', path: join(dir, 'db.selection.json'), selection })
    expect(JSON.parse(await readFile(join(dir, 'db.selection.json'), 'utf8'))).toEqual(selection)
    expect(await readdir(dir)).toEqual(['db.selection.json'])
  })

  it.each([
    ['{"type": "pglite",', 'it is not valid JSON'],
    ['[]', 'it is not a JSON object'],
    ['{"type":"mysql","selectedAt":"2026-01-01T00:00:00Z","version":"1.0"}', 'its "type" is "mysql"; expected one of pglite, postgresql'],
    ['{"type":"pglite","selectedAt":"2026-01-01T00:00:00Z","version":"2.0"}', 'its "version" is "2.0"; this build reads version "1.0"'],
    ['{"type":"pglite","selectedAt":"yesterday","version":"1.0"}', 'its "selectedAt" is "yesterday"; expected an ISO date'],
  ])('reports %s as invalid: %s', async (text, problem) => {
    const dir = await tempDir()
    await writeFile(join(dir, 'db.selection.json'), text)
    expect(await readSelection(dir)).toEqual({ kind: 'invalid', path: join(dir, 'db.selection.json'), problem })
  })
})
