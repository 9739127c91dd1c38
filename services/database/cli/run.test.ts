import { tmpdir } from 'node:os'
import { describe, expect, it } from 'vitest'
import { ConfigError } from '../../core/config.js'
import { CliError, EXIT, type Command } from './command.js'
import type { CliContext } from './context.js'
import { runCli, type CliIo } from './run.js'

// runCli checks the context's PERSISTENT_DATA_DIR before a command runs: the system temp folder passes.
function harness(context: () => CliContext = () => ({ config: { persistentDataDir: tmpdir() } }) as CliContext) {
  const out: string[] = []
  const err: string[] = []
  const io: CliIo = { out: (t) => void out.push(t), err: (t) => void err.push(t), context }
  return { io, out: () => out.join(''), err: () => err.join('') }
}

const seen: { values: unknown; positionals: string[] }[] = []
const echo: Command = {
  name: 'echo',
  summary: 'repeat what it was given',
  positionals: [{ name: 'word', required: true, description: 'what to repeat' }],
  options: { loud: { type: 'boolean', description: 'shout it' }, times: { type: 'string', valueName: 'n', description: 'how often' } },
  async run(_context, args) {
    seen.push(args)
    return EXIT.ok
  },
}
const failing: Command = {
  name: 'fail',
  summary: 'always fails',
  async run() {
    throw new CliError('The check found 2 problems.', EXIT.problems)
  },
}
const crashing: Command = {
  name: 'crash',
  summary: 'throws an unexpected error',
  async run() {
    throw new TypeError('x is undefined')
  },
}
const COMMANDS = [echo, failing, crashing]

describe('npm run db -- <command>', () => {
  it('lists every command and the exit codes with --help, and exits 2 with no command at all', async () => {
    const h = harness()
    expect(await runCli(['--help'], h.io, COMMANDS)).toBe(EXIT.ok)
    expect(h.out()).toMatch(/echo\s+repeat what it was given/)
    expect(h.out()).toMatch(/crash\s+throws an unexpected error/)
    expect(h.out()).toContain('3  a check found problems')
    expect(await runCli([], harness().io, COMMANDS)).toBe(EXIT.usage)
  })

  it('shows a command\'s arguments and options with <command> --help and with help <command>', async () => {
    for (const argv of [['echo', '--help'], ['help', 'echo'], ['echo', '-h']]) {
      const h = harness(() => {
        throw new ConfigError(['POSTGRES_PORT: bad'])
      })
      expect(await runCli(argv, h.io, COMMANDS)).toBe(EXIT.ok)
      expect(h.out()).toContain('Usage: npm run db -- echo <word> [options]')
      expect(h.out()).toMatch(/--times <n>\s+how often/)
      expect(h.out()).toMatch(/--loud\s+shout it/)
    }
  })

  it('shows an argument that may be left out as [name], in the usage line and in the list', async () => {
    const save: Command = { name: 'save', summary: 'save a copy', positionals: [{ name: 'file', required: false, description: 'where to write it' }], run: async () => EXIT.ok }
    const h = harness()
    expect(await runCli(['save', '--help'], h.io, [save])).toBe(EXIT.ok)
    expect(h.out()).toContain('Usage: npm run db -- save [file] [options]')
    expect(h.out()).toMatch(/^ {2}\[file\]\s+where to write it$/m)
    expect(h.out()).not.toContain('<file>')
  })

  it('refuses an unknown command, an unknown option, a missing or an extra argument with exit 2 and how to get help', async () => {
    const cases: [string[], RegExp][] = [
      [['nope'], /unknown command "nope"\. The commands are: echo, fail, crash/],
      [['help', 'nope'], /unknown command "nope"/],
      [['echo', 'hi', '--quiet'], /Unknown option '--quiet'[\s\S]*npm run db -- echo --help/],
      [['echo'], /db echo: missing <word>/],
      [['echo', 'a', 'b'], /db echo: unexpected argument "b"/],
    ]
    for (const [argv, message] of cases) {
      const h = harness()
      expect(await runCli(argv, h.io, COMMANDS), argv.join(' ')).toBe(EXIT.usage)
      expect(h.err()).toMatch(message)
    }
  })

  it('hands the command its parsed options and arguments', async () => {
    seen.length = 0
    expect(await runCli(['echo', 'hi', '--loud', '--times', '3'], harness().io, COMMANDS)).toBe(EXIT.ok)
    expect(seen).toEqual([{ values: { loud: true, times: '3' }, positionals: ['hi'] }])
  })

  it('prints a CliError or a configuration error as its message alone, with its exit code', async () => {
    const h = harness()
    expect(await runCli(['fail'], h.io, COMMANDS)).toBe(EXIT.problems)
    expect(h.err()).toBe('The check found 2 problems.\n')
    const bad = harness(() => {
      throw new ConfigError(['POSTGRES_PORT: expected a whole number'])
    })
    expect(await runCli(['fail'], bad.io, COMMANDS)).toBe(EXIT.failed)
    expect(bad.err()).toContain('POSTGRES_PORT: expected a whole number')
  })

  it('names the command when something unexpected breaks, and exits 1', async () => {
    const h = harness()
    expect(await runCli(['crash'], h.io, COMMANDS)).toBe(EXIT.failed)
    expect(h.err()).toBe('db crash failed: x is undefined\n')
  })
})
