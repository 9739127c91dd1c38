import { describe, expect, it } from 'vitest'
import type { Progress } from '../../transfer/transfer.js'
import { progressPrinter } from './transfer-progress.js'

const EVENTS: Progress[] = [
  { kind: 'migration', tag: '0000_database_instance' },
  { kind: 'table', table: 'public.kv_entries', rows: 20 },
  { kind: 'chunk', table: 'public.kv_entries', copied: 10, rows: 20 },
  { kind: 'chunk', table: 'public.kv_entries', copied: 20, rows: 20 },
  { kind: 'table', table: 'public.instance', rows: 0 },
  { kind: 'verify' },
]

function run(interactive: boolean): string {
  let out = ''
  const show = progressPrinter({ interactive, print: (line) => void (out += `${line}\n`) }, (text) => void (out += text))
  for (const event of EVENTS) show(event)
  return out
}

describe('db transfer progress', () => {
  it('redraws one bar per table in place on a terminal, ending each before the next line', () => {
    const bar = (filled: number, text: string) => `${'#'.repeat(filled)}${'-'.repeat(30 - filled)}] ${text}`
    expect(run(true)).toBe(
      'applied 0000_database_instance on the target\n' +
        `\r${'public.kv_entries'.padEnd(28)} [${bar(0, '0/20')}` +
        `\r${'public.kv_entries'.padEnd(28)} [${bar(15, '10/20')}` +
        `\r${'public.kv_entries'.padEnd(28)} [${bar(30, '20/20')}\n` +
        `\r${'public.instance'.padEnd(28)} [${bar(30, '0/0')}\n` +
        'verifying row counts and checksums on the target\n',
    )
  })

  it('prints plain lines, one per table and chunk, when the output is not a terminal', () => {
    expect(run(false).split('\n')).toEqual([
      'applied 0000_database_instance on the target',
      'copying public.kv_entries (20 rows)',
      '  public.kv_entries: 10 of 20 rows',
      '  public.kv_entries: 20 of 20 rows',
      'copying public.instance (0 rows)',
      'verifying row counts and checksums on the target',
      '',
    ])
  })
})
