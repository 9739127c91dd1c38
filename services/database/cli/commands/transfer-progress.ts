import type { Progress } from '../../transfer/transfer.js'
import type { CliContext } from '../context.js'

const WIDTH = 30

/** A bar per table redrawn in place on a terminal; one line per table (and per step) otherwise, so logs stay readable. */
export function progressPrinter(context: Pick<CliContext, 'interactive' | 'print'>, write: (text: string) => void = (text) => void process.stdout.write(text)): (progress: Progress) => void {
  if (!context.interactive) {
    return (progress) => {
      if (progress.kind === 'table') context.print(`copying ${progress.table} (${progress.rows} rows)`)
      else if (progress.kind === 'chunk') context.print(`  ${progress.table}: ${progress.copied} of ${progress.rows} rows`)
      else if (progress.kind === 'migration') context.print(`applied ${progress.tag} on the target`)
      else context.print('verifying row counts and checksums on the target')
    }
  }
  let open = false
  const end = () => {
    if (open) write('\n')
    open = false
  }
  return (progress) => {
    if (progress.kind === 'chunk' || progress.kind === 'table') {
      const copied = progress.kind === 'chunk' ? progress.copied : 0
      const share = progress.rows === 0 ? 1 : Math.min(1, copied / progress.rows)
      const filled = Math.round(share * WIDTH)
      if (progress.kind === 'table') end()
      write(`\r${progress.table.padEnd(28)} [${'#'.repeat(filled)}${'-'.repeat(WIDTH - filled)}] ${copied}/${progress.rows}`)
      open = true
      return
    }
    end()
    context.print(progress.kind === 'migration' ? `applied ${progress.tag} on the target` : 'verifying row counts and checksums on the target')
  }
}
